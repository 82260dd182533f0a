using System.Text;
using StarKv.GpuWorker.Checkpoints;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.Checkpoints;

public sealed class SafetensorsFileTests
{
    /// <summary>A safetensors file assembled byte by byte: length, JSON header, data.</summary>
    private static byte[] HandMade(string header, params byte[] data)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + data.Length];
        BitConverter.GetBytes((ulong)json.Length).CopyTo(bytes, 0);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        return bytes;
    }

    [Fact]
    public void Reads_a_hand_made_bf16_tensor_and_converts_it_to_float32()
    {
        using var folder = new TempFolder();
        var path = folder.File("a.safetensors");
        // bf16 1.0 = 0x3F80, -2.5 = 0xC020, 0.15625 = 0x3E20; stored little-endian.
        File.WriteAllBytes(path, HandMade(
            """{"__metadata__":{"format":"pt"},"w":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]}}""",
            0x80, 0x3F, 0x20, 0xC0, 0x20, 0x3E));

        using var file = SafetensorsFile.Open(path);
        Assert.Equal("pt", file.Metadata["format"]);
        var info = Assert.Single(file.TensorList);
        Assert.Equal(("w", "BF16", 0L, 6L), (info.Name, info.DType, info.Begin, info.End));

        using var asStored = file.Read("w");
        Assert.Equal(torch.ScalarType.BFloat16, asStored.dtype);
        using var asFloat = file.Read("w", torch.ScalarType.Float32);
        Assert.Equal(torch.ScalarType.Float32, asFloat.dtype);
        Assert.Equal(new[] { 1.0f, -2.5f, 0.15625f }, asFloat.data<float>().ToArray());
    }

    [Fact]
    public void Writer_output_reads_back_with_the_same_values_in_every_float_dtype()
    {
        using var folder = new TempFolder();
        var path = folder.File("w.safetensors");
        using var f32 = torch.tensor(new float[] { 1.5f, -0.25f, 3e-3f, 70000f, 0f, -1e-8f }).reshape(2, 3); // [2, 3]
        using var f16 = f32.to_type(torch.ScalarType.Float16); // [2, 3]
        using var bf16 = f32.to_type(torch.ScalarType.BFloat16); // [2, 3]
        using var f64 = torch.tensor(new double[] { Math.PI, -Math.E }); // [2]
        using var i64 = torch.tensor(new long[] { long.MaxValue, -7 }); // [2]
        SafetensorsWriter.Write(path, new Dictionary<string, torch.Tensor>
        {
            ["f32"] = f32,
            ["f16"] = f16,
            ["bf16"] = bf16,
            ["f64"] = f64,
            ["i64"] = i64,
        });

        var raw = File.ReadAllBytes(path);
        var headerLength = BitConverter.ToInt64(raw, 0);
        Assert.Equal(0, headerLength % 8);

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(new[] { "bf16", "f16", "f32", "f64", "i64" }, file.TensorList.Select(t => t.Name));
        Assert.Equal("F16", file.Tensors["f16"].DType);
        Assert.Equal(new long[] { 2, 3 }, file.Tensors["bf16"].Shape);
        foreach (var name in new[] { "f32", "f16", "bf16" })
        {
            using var stored = file.Read(name); // [2, 3]
            var expected = name switch { "f32" => f32, "f16" => f16, _ => bf16 };
            Assert.Equal(expected.dtype, stored.dtype);
            Assert.True(stored.equal(expected).all().item<bool>(), name);
        }

        using var pi = file.Read("f64");
        Assert.Equal(new[] { Math.PI, -Math.E }, pi.data<double>().ToArray());
        using var longs = file.Read("i64");
        Assert.Equal(new[] { long.MaxValue, -7L }, longs.data<long>().ToArray());

        // bf16 → fp16 goes through the stored values: 70000 exceeds fp16's range and becomes infinity.
        using var bf16AsHalf = file.Read("bf16", torch.ScalarType.Float16);
        using var back = bf16AsHalf.to_type(torch.ScalarType.Float32);
        Assert.True(float.IsPositiveInfinity(back.data<float>()[3]));
    }

    [Fact]
    public void Same_tensors_give_identical_bytes()
    {
        using var folder = new TempFolder();
        using var a = torch.arange(12, dtype: torch.ScalarType.Float32).reshape(3, 4); // [3, 4]
        using var b = torch.ones(5, dtype: torch.ScalarType.BFloat16); // [5]
        SafetensorsWriter.Write(folder.File("1.safetensors"), new Dictionary<string, torch.Tensor> { ["a"] = a, ["b"] = b });
        SafetensorsWriter.Write(folder.File("2.safetensors"), new Dictionary<string, torch.Tensor> { ["b"] = b, ["a"] = a });
        Assert.Equal(File.ReadAllBytes(folder.File("1.safetensors")), File.ReadAllBytes(folder.File("2.safetensors")));
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("""{"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,4]}}""", "unsupported dtype 'Q4'")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", "spans 4 bytes but F32 [2] needs 8")]
    [InlineData("""{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", "invalid dimension -1")]
    [InlineData("""{"w":{"dtype":"F32","shape":[1]}}""", "no valid data_offsets")]
    [InlineData("""{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}""", "truncated: tensor 'w' needs data bytes up to 12 but the data section holds 8")]
    [InlineData("[1, 2]", "expected a JSON object")]
    public void Corrupt_headers_are_refused_naming_the_file_and_the_problem(string header, string problem)
    {
        using var folder = new TempFolder();
        var path = folder.File("bad.safetensors");
        File.WriteAllBytes(path, HandMade(header, 0, 0, 0x80, 0x3F, 0, 0, 0, 0x40));

        var error = Assert.Throws<CheckpointFormatException>(() => SafetensorsFile.Open(path));
        Assert.Equal(path, error.File);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_cut_inside_its_header_or_length_field_is_refused()
    {
        using var folder = new TempFolder();
        var path = folder.File("cut.safetensors");
        var whole = HandMade("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 0, 0, 0x80, 0x3F);

        File.WriteAllBytes(path, whole[..20]);
        var insideHeader = Assert.Throws<CheckpointFormatException>(() => SafetensorsFile.Open(path));
        Assert.Contains("header length", insideHeader.Message, StringComparison.Ordinal);

        File.WriteAllBytes(path, whole[..5]);
        var insideLength = Assert.Throws<CheckpointFormatException>(() => SafetensorsFile.Open(path));
        Assert.Contains("shorter than the 8-byte header length", insideLength.Message, StringComparison.Ordinal);

        File.WriteAllBytes(path, whole[..^1]);
        var insideData = Assert.Throws<CheckpointFormatException>(() => SafetensorsFile.Open(path));
        Assert.Contains("truncated", insideData.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reading_in_small_parts_gives_the_same_tensor()
    {
        using var folder = new TempFolder();
        var path = folder.File("parts.safetensors");
        using var wide = torch.linspace(-3, 7, 1000, dtype: torch.ScalarType.Float64).reshape(10, 100); // [10, 100]
        using var half = torch.linspace(0, 1, 333, dtype: torch.ScalarType.Float16); // [333]
        SafetensorsWriter.Write(path, new Dictionary<string, torch.Tensor> { ["wide"] = wide, ["half"] = half });

        // 24-byte reads: three doubles or twelve halves at a time, the last part short.
        using var file = SafetensorsFile.Open(path, maxReadBytes: 24);
        using var wideBack = file.Read("wide");
        using var halfBack = file.Read("half");
        Assert.True(wideBack.equal(wide).all().item<bool>());
        Assert.True(halfBack.equal(half).all().item<bool>());
    }
}
