using TorchSharp;

namespace StarKv.Compression.Api;

/// <summary>
/// What one layer keeps: per KV head, the sorted, unique indices of cache entries to keep. Every head of
/// a layer keeps the same count. // Indices: [G, K] int64 on the keys' device
/// </summary>
public sealed record LayerSelection(torch.Tensor Indices, bool IsNoOp) : IDisposable
{
    public long KeptPerHead => Indices.shape[1];

    public void Dispose() => Indices.Dispose();
}
