using StarKv.Compression.Api;
using StarKv.GpuWorker.Cache;
using TorchSharp;

namespace StarKv.GpuWorker.Model.Batching;

/// <summary>
/// A run of consecutive tokens of one session's turn in a batched forward pass (<see cref="Qwen25VlModel.ForwardBatch"/>):
/// the whole turn, or one chunk of it when the scheduler splits a long prefill across iterations. Its keys and values are
/// appended to <see cref="Cache"/> and its queries attend causally over everything that cache then holds, exactly as
/// <see cref="Qwen25VlModel.Prefill"/> would for the same tokens; the cache's earlier chunks are already in it.
/// </summary>
/// <param name="Embeddings">The chunk's input embeddings (<see cref="Qwen25VlModel.EmbedTurn"/> rows). // [T, hidden]</param>
/// <param name="Positions">The chunk's M-RoPE positions, on the CPU. // [3, T] int64</param>
/// <param name="Tokens">The chunk's bookkeeping, one entry per token.</param>
/// <param name="Cache">The session's cache; every layer grows by T entries.</param>
public sealed record PrefillChunk(torch.Tensor Embeddings, torch.Tensor Positions, IReadOnlyList<TokenInfo> Tokens, KvCache Cache)
{
    /// <summary>Whether each layer's attention also returns its column sums over the chunk's queries (for H2O).</summary>
    public bool ColumnSums { get; init; }

    /// <summary>
    /// Called after each layer's attention of the chunk, in layer order, with the chunk's queries, the layer's cache and
    /// the chunk's hidden states entering the layer (and the column sums when asked); tensors valid during the call only.
    /// </summary>
    public Action<LayerAttentionCapture>? AfterLayerAttention { get; init; }

    /// <summary>Tokens in the chunk (T).</summary>
    public int Count => Tokens.Count;
}
