using TorchSharp;

namespace StarKv.Compression.Bench;

/// <summary>
/// One Qwen2.5-VL decoder layer's prefill of a step's new tokens on top of the cached history, in fp32 with
/// random weights of UI-TARS-1.5-7B's shapes: RMSNorm, q/k/v projections with bias, grouped-query causal
/// attention over history plus new keys (in query chunks), output projection, RMSNorm, SwiGLU MLP, residuals.
/// Rotary embedding is left out (element-wise, negligible next to the matmuls). The denominator of the
/// benchmark's compression/prefill ratio.
/// </summary>
public sealed class DecoderLayerPrefill : IDisposable
{
    private readonly torch.Tensor _wq, _bq, _wk, _bk, _wv, _bv, _wo, _gate, _up, _down;

    public DecoderLayerPrefill()
    {
        const int h = SyntheticTrajectory.HiddenSize;
        const int kv = SyntheticTrajectory.KvHeads * SyntheticTrajectory.HeadDim;
        const int i = SyntheticTrajectory.IntermediateSize;
        var scale = 1 / Math.Sqrt(h);
        _wq = torch.randn(h, h).mul(scale); // [hidden, H·D]
        _bq = torch.zeros(h);
        _wk = torch.randn(h, kv).mul(scale); // [hidden, G·D]
        _bk = torch.zeros(kv);
        _wv = torch.randn(h, kv).mul(scale); // [hidden, G·D]
        _bv = torch.zeros(kv);
        _wo = torch.randn(h, h).mul(scale); // [H·D, hidden]
        _gate = torch.randn(h, i).mul(scale); // [hidden, intermediate]
        _up = torch.randn(h, i).mul(scale); // [hidden, intermediate]
        _down = torch.randn(i, h).mul(1 / Math.Sqrt(i)); // [intermediate, hidden]
    }

    /// <summary>Runs the prefill of <paramref name="newTokens"/> tokens over <paramref name="historyKeys"/>; returns its output. // [T, hidden]</summary>
    public torch.Tensor Run(torch.Tensor historyKeys, int newTokens)
    {
        ArgumentNullException.ThrowIfNull(historyKeys);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        const int g = SyntheticTrajectory.KvHeads;
        const int d = SyntheticTrajectory.HeadDim;
        const int r = SyntheticTrajectory.Heads / SyntheticTrajectory.KvHeads;
        var t = newTokens;
        var x = torch.randn(t, SyntheticTrajectory.HiddenSize); // [T, hidden]
        var normed = RmsNorm(x);
        var q = normed.matmul(_wq).add(_bq).reshape(t, g, r, d).permute(1, 2, 0, 3); // [G, r, T, D]
        var kNew = normed.matmul(_wk).add(_bk).reshape(t, g, d).transpose(0, 1); // [G, T, D]
        var vNew = normed.matmul(_wv).add(_bv).reshape(t, g, d).transpose(0, 1); // [G, T, D]
        var history = historyKeys.narrow(1, 0, historyKeys.shape[1] - t).to(torch.float32); // [G, L − T, D]
        var k = torch.cat([history, kNew], 1).unsqueeze(1); // [G, 1, L, D]
        var v = torch.cat([history.flip(2), vNew], 1).unsqueeze(1); // [G, 1, L, D]
        var l = k.shape[2];
        var keyIndex = torch.arange(l).unsqueeze(0); // [1, L]
        var outputs = new List<torch.Tensor>();
        const int chunk = 512;
        for (var start = 0; start < t; start += chunk)
        {
            var n = Math.Min(chunk, t - start);
            var logits = q.narrow(2, start, n).matmul(k.transpose(-1, -2)).div_(Math.Sqrt(d)); // [G, r, n, L]
            var queryIndex = torch.arange(l - t + start, l - t + start + n).unsqueeze(1); // [n, 1]
            logits.masked_fill_(keyIndex.gt(queryIndex), float.NegativeInfinity);
            outputs.Add(logits.softmax(-1).matmul(v)); // [G, r, n, D]
        }

        var attention = torch.cat(outputs, 2).permute(2, 0, 1, 3).reshape(t, g * r * d); // [T, H·D]
        var hidden = x.add(attention.matmul(_wo)); // [T, hidden]
        var mlpIn = RmsNorm(hidden);
        var mlp = torch.nn.functional.silu(mlpIn.matmul(_gate)).mul(mlpIn.matmul(_up)).matmul(_down); // [T, hidden]
        return hidden.add(mlp).MoveToOuterDisposeScope();
    }

    private static torch.Tensor RmsNorm(torch.Tensor x) => x.mul(x.pow(2).mean([-1], keepdim: true).add(1e-6).rsqrt());

    public void Dispose()
    {
        foreach (var w in new[] { _wq, _bq, _wk, _bk, _wv, _bv, _wo, _gate, _up, _down })
        {
            w.Dispose();
        }
    }
}
