namespace StarKv.Silo.Tests;

public sealed class TorchSelfCheckTests
{
    [Fact]
    public void Attention_matches_the_double_precision_loop()
    {
        var report = TorchSelfCheck.Run();

        Assert.StartsWith("2.10", report.TorchVersion, StringComparison.Ordinal);
        Assert.True(report.Threads >= 1);
        Assert.InRange(report.SdpaMaxAbsError, 0, 1e-5);
    }
}
