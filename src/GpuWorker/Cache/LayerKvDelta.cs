using StarKv.Compression.Api;
using TorchSharp;

namespace StarKv.GpuWorker.Cache;

/// <summary>
/// What one committed step changed in a layer, for a checkpoint delta (<see cref="LayerKvCache.CaptureStep"/>,
/// applied by <see cref="LayerKvCache.Apply"/>). After the step, head g holds the committed entries it kept, in the
/// order <c>KeptOld[g]</c> names them (indices into the <see cref="BaseCount"/> entries the layer held before the step;
/// null means every head kept all of them, in order), followed by its new entries <c>NewKeys[g]</c>: the turn's entries
/// it kept and the decoded ones. Every head ends with the same count; new entries differ in number per head when a
/// per-head method kept more history in one head than in another. The tensors belong to whoever holds the delta.
/// </summary>
/// <param name="BaseCount">Entries per head before the step.</param>
/// <param name="KeptOld">Per head, the committed entries kept, or null when no entry was evicted. // [G][a_g]</param>
/// <param name="NewKeys">Per head, the new entries' keys after rotary embedding. // [G] of [n_g, D]</param>
/// <param name="NewValues">Per head, the new entries' values. // [G] of [n_g, D]</param>
/// <param name="NewTokens">Per head, the new entries' bookkeeping. // [G][n_g]</param>
/// <param name="SeenTokens">Tokens the layer has seen after the step.</param>
public sealed record LayerKvDelta(
    long BaseCount,
    IReadOnlyList<IReadOnlyList<long>>? KeptOld,
    IReadOnlyList<torch.Tensor> NewKeys,
    IReadOnlyList<torch.Tensor> NewValues,
    IReadOnlyList<IReadOnlyList<TokenInfo>> NewTokens,
    long SeenTokens) : IDisposable
{
    /// <summary>Entries per head after the step.</summary>
    public long Count => (KeptOld is { } kept ? kept[0].Count : BaseCount) + NewKeys[0].shape[0];

    public void Dispose()
    {
        foreach (var tensor in NewKeys.Concat(NewValues))
        {
            tensor.Dispose();
        }
    }
}
