using StarKv.GpuWorker.Model.Layers;
using TorchSharp;

namespace StarKv.GpuWorker.Model.Vision;

/// <summary>
/// Non-causal multi-head attention of the vision blocks, restricted to segments (windows, or whole frames in
/// the full-attention blocks) given as cumulative lengths. Fused qkv projection with bias, 2-D rotary embedding
/// applied in fp32, output projection with bias. Segments are padded to the longest and attended in one batch
/// with a key mask.
/// </summary>
public sealed class VisionAttention : IDisposable
{
    private readonly torch.Tensor _qkv; // [3·vh, vh]
    private readonly torch.Tensor _qkvBias; // [3·vh]
    private readonly torch.Tensor _proj; // [vh, vh]
    private readonly torch.Tensor _projBias; // [vh]

    public VisionAttention(int heads, torch.Tensor qkv, torch.Tensor qkvBias, torch.Tensor proj, torch.Tensor projBias)
    {
        Heads = heads;
        _qkv = qkv;
        _qkvBias = qkvBias;
        _proj = proj;
        _projBias = projBias;
    }

    public int Heads { get; }

    public static VisionAttention Load(WeightReader weights, string prefix, int hidden, int heads)
    {
        ArgumentNullException.ThrowIfNull(weights);
        return new VisionAttention(
            heads,
            weights.Take($"{prefix}.qkv.weight", 3L * hidden, hidden),
            weights.Take($"{prefix}.qkv.bias", 3L * hidden),
            weights.Take($"{prefix}.proj.weight", hidden, hidden),
            weights.Take($"{prefix}.proj.bias", hidden));
    }

    /// <param name="x">// [N, vh]</param>
    /// <param name="cos">fp32. // [N, head_dim]</param>
    /// <param name="sin">fp32. // [N, head_dim]</param>
    /// <param name="cuSeqlens">Segment boundaries: 0, …, N.</param>
    /// <returns>// [N, vh]</returns>
    public torch.Tensor Forward(torch.Tensor x, torch.Tensor cos, torch.Tensor sin, IReadOnlyList<long> cuSeqlens)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(cuSeqlens);
        using var scope = torch.NewDisposeScope();
        long n = x.shape[0], hidden = x.shape[1], headDim = hidden / Heads;
        var qkv = torch.nn.functional.linear(x, _qkv, _qkvBias).view(n, 3, Heads, headDim).permute(1, 0, 2, 3); // [3, N, heads, hd]
        var c = cos.unsqueeze(1); // [N, 1, hd]
        var s = sin.unsqueeze(1); // [N, 1, hd]
        var q = Rotate(qkv[0], c, s); // [N, heads, hd]
        var k = Rotate(qkv[1], c, s); // [N, heads, hd]
        var v = qkv[2]; // [N, heads, hd]

        var segments = cuSeqlens.Count - 1;
        var longest = 0L;
        for (var i = 0; i < segments; i++)
        {
            longest = Math.Max(longest, cuSeqlens[i + 1] - cuSeqlens[i]);
        }

        if (cuSeqlens[0] != 0 || cuSeqlens[^1] != n)
        {
            throw new ArgumentException($"Segments must cover the {n} patches from 0; got [{cuSeqlens[0]} … {cuSeqlens[^1]}].", nameof(cuSeqlens));
        }

        torch.Tensor attended; // [N, heads, hd]
        if (segments == 1)
        {
            attended = torch.nn.functional.scaled_dot_product_attention(
                q.transpose(0, 1).unsqueeze(0), k.transpose(0, 1).unsqueeze(0), v.transpose(0, 1).unsqueeze(0)) // [1, heads, N, hd]
                .squeeze(0).transpose(0, 1);
        }
        else
        {
            var gatherRows = new long[segments * longest];
            var valid = new bool[segments * longest];
            var validRows = new List<long>((int)n);
            for (var i = 0; i < segments; i++)
            {
                var length = cuSeqlens[i + 1] - cuSeqlens[i];
                for (var j = 0; j < longest; j++)
                {
                    var slot = (i * longest) + j;
                    gatherRows[slot] = j < length ? cuSeqlens[i] + j : cuSeqlens[i];
                    valid[slot] = j < length;
                    if (j < length)
                    {
                        validRows.Add(slot);
                    }
                }
            }

            var rows = torch.tensor(gatherRows, device: x.device); // [S·Lmax]
            var mask = torch.tensor(valid, device: x.device).view(segments, 1, 1, longest); // [S, 1, 1, Lmax]
            torch.Tensor Batch(torch.Tensor t) => t.index_select(0, rows).view(segments, longest, Heads, headDim).transpose(1, 2); // [S, heads, Lmax, hd]
            var output = torch.nn.functional.scaled_dot_product_attention(Batch(q), Batch(k), Batch(v), mask); // [S, heads, Lmax, hd]
            attended = output.transpose(1, 2).reshape(segments * longest, Heads, headDim)
                .index_select(0, torch.tensor(validRows.ToArray(), device: x.device)); // [N, heads, hd]
        }

        var result = torch.nn.functional.linear(attended.reshape(n, hidden), _proj, _projBias); // [N, vh]
        return result.MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _qkv.Dispose();
        _qkvBias.Dispose();
        _proj.Dispose();
        _projBias.Dispose();
    }

    private static torch.Tensor Rotate(torch.Tensor x, torch.Tensor cos, torch.Tensor sin)
    {
        var xf = x.to(torch.ScalarType.Float32);
        return ((xf * cos) + (Text.MropeRotary.RotateHalf(xf) * sin)).to(x.dtype);
    }
}
