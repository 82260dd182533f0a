using StarKv.Compression.Api;
using TorchSharp;

namespace StarKv.Compression.Scoring;

/// <summary>
/// GUI-KV's spatial saliency over the current screenshot's V tokens: <c>u_j = ‖x_j‖₂</c> of the hidden state
/// entering the layer, <c>z = (u − mean u)/(std u + 1e-8)</c> with the population standard deviation,
/// <c>β = α · softmax(z / τ_s)</c>; <c>β_j</c> is added to every head's score of token j.
/// </summary>
public static class SpatialSaliency
{
    /// <summary>GUI-KV's saliency weight α.</summary>
    public const double DefaultAlpha = 2.0;

    /// <summary>GUI-KV's saliency temperature τ_s.</summary>
    public const double DefaultTemperature = 3.5;

    /// <param name="hiddenStates">Hidden states of the current screenshot's tokens, in cache order. // [V, hidden]</param>
    /// <param name="alpha">Saliency weight α.</param>
    /// <param name="temperature">Saliency temperature τ_s.</param>
    /// <returns>β per screenshot token, fp32. // [V]</returns>
    public static torch.Tensor Boost(torch.Tensor hiddenStates, double alpha = DefaultAlpha, double temperature = DefaultTemperature)
    {
        ArgumentNullException.ThrowIfNull(hiddenStates);
        using var scope = torch.NewDisposeScope();
        var u = hiddenStates.to(torch.float32).norm(1); // [V]
        var z = u.sub(u.mean()).div(u.std(unbiased: false).add(1e-8)); // [V]
        return z.div(temperature).softmax(0).mul(alpha).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Adds β to the past entries of the current screenshot, per KV head (heads may hold them at different
    /// indices). No-op when there are no hidden states.
    /// </summary>
    /// <param name="groupScores">Scores of the past entries per KV head, changed in place. // [G, P]</param>
    /// <param name="input">The layer's input (bookkeeping, hidden states, current screenshot).</param>
    /// <param name="alpha">Saliency weight α.</param>
    /// <param name="temperature">Saliency temperature τ_s.</param>
    public static void AddTo(torch.Tensor groupScores, LayerCompressionInput input, double alpha = DefaultAlpha, double temperature = DefaultTemperature)
    {
        ArgumentNullException.ThrowIfNull(groupScores);
        ArgumentNullException.ThrowIfNull(input);
        if (input.CurrentScreenshot is not { } grid || input.ScreenshotHiddenStates.shape[0] == 0)
        {
            return;
        }

        using var scope = torch.NewDisposeScope();
        var beta = Boost(input.ScreenshotHiddenStates, alpha, temperature).to(groupScores.device); // [V]
        var past = groupScores.shape[1];
        for (var g = 0; g < groupScores.shape[0]; g++)
        {
            var (cacheIndex, screenshotOrdinal) = ScreenshotEntries(input.Tokens[g], grid.ScreenshotIndex, past);
            if (cacheIndex.Length == 0)
            {
                continue;
            }

            var at = torch.tensor(cacheIndex, device: groupScores.device); // [V_past]
            var from = torch.tensor(screenshotOrdinal, device: groupScores.device); // [V_past]
            groupScores[g].index_add_(0, at, beta.index_select(0, from), 1.0);
        }
    }

    /// <summary>
    /// The cache indices below <paramref name="past"/> of a screenshot's entries, with each one's ordinal among
    /// that screenshot's entries in cache order.
    /// </summary>
    public static (long[] CacheIndex, long[] Ordinal) ScreenshotEntries(IReadOnlyList<TokenInfo> tokens, int screenshotIndex, long past)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var cacheIndex = new List<long>();
        var ordinal = new List<long>();
        var seen = 0L;
        for (var j = 0; j < tokens.Count; j++)
        {
            if (tokens[j].Modality != TokenModality.Image || tokens[j].ScreenshotIndex != screenshotIndex)
            {
                continue;
            }

            if (j < past)
            {
                cacheIndex.Add(j);
                ordinal.Add(seen);
            }

            seen++;
        }

        return (cacheIndex.ToArray(), ordinal.ToArray());
    }
}
