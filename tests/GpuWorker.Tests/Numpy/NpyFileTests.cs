using System.Text;
using StarKv.GpuWorker.Numpy;
using StarKv.GpuWorker.Tests.Checkpoints;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.Numpy;

public sealed class NpyFileTests
{
    [Fact]
    public void Writes_the_version_1_header_numpy_writes()
    {
        using var folder = new TempFolder();
        var path = folder.File("a.npy");
        using var t = torch.tensor(new float[] { 1, 2, 3, 4, 5, 6 }).reshape(2, 3); // [2, 3]
        NpyFile.Write(path, t);

        var bytes = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }, bytes[..8]);
        var headerLength = BitConverter.ToUInt16(bytes, 8);
        Assert.Equal(118, headerLength); // 10 + 118 = 128: the next multiple of 64
        var header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.Equal("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", header.TrimEnd());
        Assert.EndsWith(" \n", header, StringComparison.Ordinal);
        Assert.Equal(128 + 24, bytes.Length);
        Assert.Equal(5f, BitConverter.ToSingle(bytes, 128 + 16));
    }

    [Fact]
    public void One_and_zero_dimensional_shapes_use_python_tuple_syntax()
    {
        using var folder = new TempFolder();
        using var vector = torch.tensor(new long[] { 7, -8, 9 }); // [3]
        using var scalar = torch.tensor(2.5); // []
        NpyFile.Write(folder.File("v.npy"), vector);
        NpyFile.Write(folder.File("s.npy"), scalar);

        Assert.Contains("'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", File.ReadAllText(folder.File("v.npy")), StringComparison.Ordinal);
        Assert.Contains("'descr': '<f8', 'fortran_order': False, 'shape': (), }", File.ReadAllText(folder.File("s.npy")), StringComparison.Ordinal);
        using var v = NpyFile.Read(folder.File("v.npy"));
        Assert.Equal(new long[] { 7, -8, 9 }, v.data<long>().ToArray());
        using var s = NpyFile.Read(folder.File("s.npy"));
        Assert.Empty(s.shape);
        Assert.Equal(2.5, s.item<double>());
    }

    [Theory]
    [InlineData(torch.ScalarType.Float32)]
    [InlineData(torch.ScalarType.Float64)]
    [InlineData(torch.ScalarType.Float16)]
    [InlineData(torch.ScalarType.Int64)]
    [InlineData(torch.ScalarType.Int32)]
    [InlineData(torch.ScalarType.Byte)]
    [InlineData(torch.ScalarType.Bool)]
    public void Round_trips_each_dtype(torch.ScalarType dtype)
    {
        using var folder = new TempFolder();
        using var source = torch.arange(24).reshape(2, 3, 4).remainder(5).to_type(dtype); // [2, 3, 4]
        NpyFile.Write(folder.File("x.npy"), source);
        using var back = NpyFile.Read(folder.File("x.npy"));
        Assert.Equal(dtype, back.dtype);
        Assert.Equal(source.shape, back.shape);
        Assert.True(back.equal(source).all().item<bool>());
    }

    [Fact]
    public void Bfloat16_is_written_as_float32()
    {
        using var folder = new TempFolder();
        using var source = torch.tensor(new float[] { 1.5f, -0.375f }).to_type(torch.ScalarType.BFloat16); // [2]
        NpyFile.Write(folder.File("b.npy"), source);
        using var back = NpyFile.Read(folder.File("b.npy"));
        Assert.Equal(torch.ScalarType.Float32, back.dtype);
        Assert.Equal(new[] { 1.5f, -0.375f }, back.data<float>().ToArray());
    }

    [Fact]
    public void Reads_a_hand_made_fortran_order_file()
    {
        using var folder = new TempFolder();
        var path = folder.File("f.npy");
        // The 2×3 array [[1, 2, 3], [4, 5, 6]] stored column by column: 1 4 2 5 3 6.
        var dict = "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }";
        var header = dict.PadRight(64 - 10 - 1) + "\n";
        using var stream = new MemoryStream();
        stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        stream.Write(BitConverter.GetBytes((ushort)header.Length));
        stream.Write(Encoding.ASCII.GetBytes(header));
        foreach (var v in new[] { 1, 4, 2, 5, 3, 6 })
        {
            stream.Write(BitConverter.GetBytes(v));
        }

        File.WriteAllBytes(path, stream.ToArray());
        using var t = NpyFile.Read(path);
        Assert.Equal(new long[] { 2, 3 }, t.shape);
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 6 }, t.data<int>().ToArray());
    }

    [Fact]
    public void Refuses_files_that_are_not_npy_or_big_endian()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("x.npy"), "hello, not numpy");
        Assert.Contains("magic", Assert.Throws<FormatException>(() => NpyFile.Read(folder.File("x.npy"))).Message, StringComparison.Ordinal);

        using var t = torch.ones(2); // [2]
        NpyFile.Write(folder.File("be.npy"), t);
        var bytes = File.ReadAllBytes(folder.File("be.npy"));
        var text = Encoding.ASCII.GetString(bytes).Replace("'<f4'", "'>f4'", StringComparison.Ordinal);
        File.WriteAllBytes(folder.File("be.npy"), [.. bytes[..10], .. Encoding.ASCII.GetBytes(text[10..128]), .. bytes[128..]]);
        Assert.Contains("big-endian", Assert.Throws<FormatException>(() => NpyFile.Read(folder.File("be.npy"))).Message, StringComparison.Ordinal);
    }
}
