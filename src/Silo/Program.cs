using StarKv.Silo;

var report = TorchSelfCheck.Run();
Console.WriteLine($"torch {report.TorchVersion}, {report.Threads} threads");
Console.WriteLine($"scaled_dot_product_attention vs double-precision loop: max abs error {report.SdpaMaxAbsError:E2}");
return report.SdpaMaxAbsError < 1e-5 ? 0 : 1;
