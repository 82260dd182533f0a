using StarKv.Compression.Api;
using StarKv.GpuWorker.Cache;
using TorchSharp;

namespace StarKv.GpuWorker.Model.Batching;

/// <summary>
/// The KV-layout seam of a batched decode layer. The projections, MLPs and LM head of a batched decode run once over
/// all B rows; attention is the one step that reads each row's own compressed cache: its own length, and per KV head
/// its own kept entries (<see cref="LayerKvCache"/>: <c>[G, Capacity, D]</c> storage of which the first
/// <see cref="LayerKvCache.Count"/> entries are valid). An implementation appends each row's new key and value to that
/// row's cache and attends the row's query heads over everything the cache then holds.
/// <para>
/// Two are here: <see cref="PerSessionAttention"/> (each row against its cache in turn, no copy; the default on the
/// CPU) and <see cref="PaddedAttention"/> (the rows' caches copied into one zero-padded block with a mask, one fused
/// call). A paged or variable-length kernel (a block table over the caches' storage, or packed keys with cumulative
/// sequence lengths, as FlashAttention's varlen or FlashInfer's paged decode take) replaces them on GPUs by
/// implementing this interface over the same storage: rows have different lengths, and every KV head of a row its
/// own entries, so such a kernel indexes (row, KV head) pairs, the r = H / G query heads of a group sharing one.
/// </para>
/// </summary>
public interface IBatchedAttention
{
    /// <summary>Appends row b's entry to <paramref name="caches"/>[b] and attends its queries over that cache.</summary>
    /// <param name="queries">The rows' queries after rotary embedding. // [H, B, D]</param>
    /// <param name="keys">The rows' new keys after rotary embedding. // [G, B, D]</param>
    /// <param name="values">The rows' new values. // [G, B, D]</param>
    /// <param name="caches">Each row's cache of this layer (B distinct caches).</param>
    /// <param name="tokens">Each row's bookkeeping entry.</param>
    /// <returns>The attention output of every row. // [H, B, D]</returns>
    torch.Tensor AppendAndAttend(torch.Tensor queries, torch.Tensor keys, torch.Tensor values, IReadOnlyList<LayerKvCache> caches, IReadOnlyList<TokenInfo> tokens);
}
