using static TorchSharp.torch;

namespace StarKv.Compression.Tests;

/// <summary>Fails if the native TorchSharp runtime cannot be loaded on this machine.</summary>
public sealed class TorchLoadsTests
{
    [Fact]
    public void Matmul_and_softmax_give_the_hand_computed_values()
    {
        using var a = tensor(new float[] { 1, 2, 3, 4 }).reshape(2, 2); // [2, 2]
        using var b = tensor(new float[] { 5, 6, 7, 8 }).reshape(2, 2); // [2, 2]
        using var product = a.matmul(b); // [2, 2]

        // [[1·5+2·7, 1·6+2·8], [3·5+4·7, 3·6+4·8]]
        Assert.Equal(new float[] { 19, 22, 43, 50 }, product.data<float>().ToArray());

        using var logits = tensor(new float[] { 0, (float)Math.Log(3) }); // [2]
        using var probabilities = logits.softmax(0); // [2]
        var p = probabilities.data<float>().ToArray();
        Assert.Equal(0.25f, p[0], 6);
        Assert.Equal(0.75f, p[1], 6);
    }
}
