using StarKv.Compression.Api;
using StarKv.GpuWorker.Cache;
using TorchSharp;

namespace StarKv.GpuWorker.Model.Batching;

/// <summary>The argument checks every <see cref="IBatchedAttention"/> shares.</summary>
internal static class BatchedAttentionChecks
{
    public static void Check(torch.Tensor queries, torch.Tensor keys, torch.Tensor values, IReadOnlyList<LayerKvCache> caches, IReadOnlyList<TokenInfo> tokens)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(caches);
        ArgumentNullException.ThrowIfNull(tokens);
        var rows = queries.shape[1];
        if (keys.shape[1] != rows || values.shape[1] != rows || caches.Count != rows || tokens.Count != rows)
        {
            throw new ArgumentException(
                $"A batch of {rows} query rows needs as many keys ({keys.shape[1]}), values ({values.shape[1]}), caches ({caches.Count}) and bookkeeping entries ({tokens.Count}).",
                nameof(caches));
        }
    }
}
