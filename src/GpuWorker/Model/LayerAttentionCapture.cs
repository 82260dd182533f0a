using StarKv.GpuWorker.Cache;
using TorchSharp;

namespace StarKv.GpuWorker.Model;

/// <summary>
/// What a prefill shows a caller after one decoder layer's attention: the turn's keys and values are already
/// in <see cref="Cache"/> (as its tail) and the layer's attention output is already computed, so the caller
/// may compress <see cref="Cache"/> right there without changing this turn's result. The tensors belong to the
/// prefill and are valid only during the callback (clone what must outlive it).
/// </summary>
/// <param name="LayerIndex">The decoder layer, from 0.</param>
/// <param name="LayerCount">How many decoder layers the model has.</param>
/// <param name="TurnQueries">The turn's queries after M-RoPE; the last W rows are the window queries. // [H, T, D]</param>
/// <param name="Cache">The layer's cache: retained entries, then the turn's T entries.</param>
/// <param name="HiddenStatesIn">Hidden states entering the layer (before its input norm), one row per turn token. // [T, hidden]</param>
public sealed record LayerAttentionCapture(
    int LayerIndex,
    int LayerCount,
    torch.Tensor TurnQueries,
    LayerKvCache Cache,
    torch.Tensor HiddenStatesIn)
{
    /// <summary>
    /// When the prefill was asked for them: Σ over the turn's queries and each KV group's query heads of the attention
    /// probability every entry of <see cref="Cache"/> received in this layer, fp32 (what H2O scores with). // [G, N]
    /// </summary>
    public torch.Tensor? ColumnSums { get; init; }
}
