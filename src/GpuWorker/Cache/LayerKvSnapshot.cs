using StarKv.Compression.Api;
using TorchSharp;

namespace StarKv.GpuWorker.Cache;

/// <summary>
/// One layer's cache as saved in a checkpoint: keys and values <c>[G, N, D]</c>, the bookkeeping per head
/// <c>[G][N]</c>, and the number of tokens the layer has seen. The tensors belong to whoever holds the snapshot.
/// </summary>
public sealed record LayerKvSnapshot(
    torch.Tensor Keys,
    torch.Tensor Values,
    IReadOnlyList<IReadOnlyList<TokenInfo>> Tokens,
    long SeenTokens) : IDisposable
{
    public void Dispose()
    {
        Keys.Dispose();
        Values.Dispose();
    }
}
