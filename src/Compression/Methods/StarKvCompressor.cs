using StarKv.Compression.Api;
using StarKv.Compression.Budgets;
using StarKv.Compression.Scoring;
using StarKv.Compression.Selection;
using StarKv.Compression.StarKv;
using TorchSharp;

namespace StarKv.Compression.Methods;

/// <summary>
/// STaR-KV: one shared selection per layer from GUI-KV-style scores re-weighted in space and time.
/// </summary>
/// <remarks>
/// <para>Scores. <c>a_h</c> = pooled window scores per query head; <c>S_g[j] = mean_{h∈g} a_h[j] + β_j</c>
/// (<see cref="SpatialSaliency"/>, β_j = 0 off the current screenshot); <c>s̄_j = mean_g S_g[j]</c>;
/// <c>g*(j) = argmax_g S_g[j]</c> (the lower group on ties). V = the current screenshot's past entries.</para>
/// <para>Base score. Faithful, or the temperature off: <c>b_j = s̄_j</c>. Adaptive with the temperature on:
/// <c>b_j = (1/G) Σ_g p̃_g[j]</c>, <c>p̃_g = normalise(normalise(S_g)^(1/T_g))</c>, with
/// <c>T_g = T_min + (T_max − T_min)·H(normalise(S_g))/log P</c> from the group's own entropy
/// (<see cref="EntropyTemperature.Temper"/>): groups with peaked attention are sharpened and flat ones
/// flattened before they are mixed, which changes which entries win.</para>
/// <para>(i) Spatial prior: <c>MI_g</c> over V (<see cref="SpatialMutualInformation"/>), <c>M_g ← 0.9 M_g + 0.1 MI_g</c>
/// (first call: <c>M = MI</c>), <c>w = softmax(minmax(M)/τ_mi)</c>, <c>λ_eff</c> ramped over t, the layer's
/// compressing calls in the session (<see cref="StarKvLayerMemory.CompressionCalls"/>; a no-op call does not count),
/// <c>m_j = b_j·[(1 − λ_eff) + λ_eff·G·w_{g*(j)}]</c>; off: <c>m_j = b_j</c>.</para>
/// <para>(ii) Temporal discount: the EMA <c>E_g</c> of <c>A_g = normalise(S_g[V])</c> starts at the first screenshot and
/// moves once per compressing call whose turn brings a new screenshot (reset on a new grid or token count); with
/// ≥ 2 screenshots in the cache,
/// <c>m′_j = m_j·D_j</c>, <c>D_j = exp(−δ·Δ_j·stab_{g*(j)})</c> (<see cref="TemporalStability"/>); off: <c>m′ = m</c>.</para>
/// <para>(iii) Temperature: T from <c>Ĥ = H(normalise(s̄))/log P</c>. Faithful: <c>score = max(m′, 0)^(1/T)</c>
/// (computed in double so distinct scores stay distinct). Adaptive: score = m′, and the layer budgets follow
/// <see cref="EntropyLayerBudget"/> (a layer whose cache fits its own share keeps it all; otherwise it keeps its share,
/// so the layers never hold more than layers × keep). Off: score = m′ and a uniform budget.</para>
/// <para>Top-k of (keep − W) over the past, shared by every KV head, plus the window; the heads must therefore
/// hold the same entries (a session compressed by STaR-KV alone keeps them aligned).</para>
/// </remarks>
public sealed class StarKvCompressor(int windowSize = 8, StarKvMode mode = StarKvMode.Adaptive)
    : ScoredKvCompressor(mode == StarKvMode.Faithful ? "starkv-faithful" : "starkv", windowSize)
{
    public StarKvMode Mode { get; } = mode;

    public bool UseSpatialPrior { get; init; } = true;

    public bool UseTemporalDiscount { get; init; } = true;

    public bool UseEntropyTemperature { get; init; } = true;

    public PoolingKind Pooling { get; init; } = PoolingKind.Average;

    public int PoolingKernel { get; init; } = 5;

    public double SaliencyAlpha { get; init; } = SpatialSaliency.DefaultAlpha;

    public double SaliencyTemperature { get; init; } = SpatialSaliency.DefaultTemperature;

    /// <summary>MI average decay β (method.md: 0.9).</summary>
    public double MutualInformationDecay { get; init; } = 0.9;

    /// <summary>τ_mi (method.md: 1).</summary>
    public double MutualInformationTemperature { get; init; } = 1.0;

    /// <summary>λ, N, R of the ramp (method.md: 0.5, 5, 10).</summary>
    public double PriorWeight { get; init; } = 0.5;

    public int PriorDelayTurns { get; init; } = 5;

    public int PriorRampTurns { get; init; } = 10;

    /// <summary>ρ and δ of the temporal discount (method.md: 0.9, 0.1; d_min = 0).</summary>
    public double StabilityDecay { get; init; } = TemporalStability.DefaultDecay;

    public double DiscountRate { get; init; } = TemporalStability.DefaultRate;

    public double MinTemperature { get; init; } = EntropyTemperature.DefaultMinTemperature;

    public double MaxTemperature { get; init; } = EntropyTemperature.DefaultMaxTemperature;

    protected override bool RequiresAlignedHeads => true;

    private bool SplitsLayerBudgets => Mode == StarKvMode.Adaptive && UseEntropyTemperature;

    protected override void BeginLayer(LayerCompressionInput input)
    {
        if (!SplitsLayerBudgets || input.LayerIndex != 0)
        {
            return;
        }

        // Layer 0 of a turn fixes the split for the whole turn from every layer's previous compression.
        var plan = new double[input.LayerCount];
        for (var l = 0; l < plan.Length; l++)
        {
            plan[l] = input.State.GetLayer(l)?.NormalisedEntropy ?? double.NaN;
        }

        input.State.SetLayerEntropyPlan(plan);
    }

    protected override long LayerKeep(LayerCompressionInput input, LayerShape shape)
    {
        var uniform = base.LayerKeep(input, shape);
        if (!SplitsLayerBudgets || input.State.LayerEntropyPlan is not { } plan || plan.Count != input.LayerCount)
        {
            return uniform;
        }

        return EntropyLayerBudget.Split(uniform, shape.Window, plan, MinTemperature, MaxTemperature)[input.LayerIndex];
    }

    protected override torch.Tensor Score(LayerCompressionInput input, LayerShape shape, int keep)
    {
        var (groups, past) = (shape.Groups, shape.Past);
        double[][] s;
        using (var scope = torch.NewDisposeScope())
        {
            var scores = SnapKvCompressor.PooledGroupScores(input, shape, Pooling, PoolingKernel); // [G, P]
            SpatialSaliency.AddTo(scores, input, SaliencyAlpha, SaliencyTemperature);
            var flat = scores.to(torch.float64).cpu().data<double>().ToArray();
            s = new double[groups][];
            for (var g = 0; g < groups; g++)
            {
                s[g] = flat.AsSpan(g * past, past).ToArray();
            }
        }

        var memory = input.State.GetOrCreateLayer(input.LayerIndex, groups);
        memory.CompressionCalls++; // Score runs only when the layer compresses.
        var mean = new double[past];
        var dominant = new int[past];
        for (var j = 0; j < past; j++)
        {
            var best = 0;
            for (var g = 0; g < groups; g++)
            {
                mean[j] += s[g][j] / groups;
                if (s[g][j] > s[best][j])
                {
                    best = g;
                }
            }

            dominant[j] = best;
        }

        var entropy = EntropyTemperature.NormalisedEntropy(mean);
        var temperature = EntropyTemperature.Temperature(entropy, MinTemperature, MaxTemperature);
        memory.NormalisedEntropy = entropy;
        memory.Temperature = temperature;

        var score = Mode == StarKvMode.Adaptive && UseEntropyTemperature ? TemperedMix(s) : mean;
        var tokens = input.Tokens[0];
        var screenshot = CurrentScreenshotEntries(tokens, input.CurrentScreenshot, past);
        if (UseSpatialPrior)
        {
            ApplySpatialPrior(score, s, dominant, screenshot, tokens, input, memory);
        }

        if (UseTemporalDiscount && input.CurrentScreenshot is { } grid && screenshot.Length > 0)
        {
            ApplyTemporalDiscount(score, s, dominant, screenshot, tokens, grid, memory);
        }

        if (Mode == StarKvMode.Faithful && UseEntropyTemperature)
        {
            for (var j = 0; j < past; j++)
            {
                score[j] = Math.Pow(Math.Max(score[j], 0), 1 / temperature);
            }
        }

        return torch.tensor(score, [1, past], device: input.Keys.device); // [1, P]
    }

    private double[] TemperedMix(double[][] s)
    {
        var mix = new double[s[0].Length];
        foreach (var group in s)
        {
            var (tempered, _) = EntropyTemperature.Temper(group, MinTemperature, MaxTemperature);
            for (var j = 0; j < mix.Length; j++)
            {
                mix[j] += tempered[j] / s.Length;
            }
        }

        return mix;
    }

    private void ApplySpatialPrior(
        double[] score, double[][] s, int[] dominant, int[] screenshot, IReadOnlyList<TokenInfo> tokens,
        LayerCompressionInput input, StarKvLayerMemory memory)
    {
        var groups = s.Length;
        var observed = new double[groups];
        if (input.CurrentScreenshot is { } grid && screenshot.Length >= 2)
        {
            var rows = screenshot.Select(j => tokens[j].GridRow).ToArray();
            var cols = screenshot.Select(j => tokens[j].GridCol).ToArray();
            for (var g = 0; g < groups; g++)
            {
                observed[g] = SpatialMutualInformation.Compute(screenshot.Select(j => s[g][j]).ToArray(), rows, cols, grid);
            }
        }

        var average = memory.MutualInformation is { } previous
            ? previous.Select((m, g) => (MutualInformationDecay * m) + ((1 - MutualInformationDecay) * observed[g])).ToArray()
            : observed;
        memory.MutualInformation = average;
        var lambda = SpatialMutualInformation.RampedWeight(memory.CompressionCalls, PriorWeight, PriorDelayTurns, PriorRampTurns);
        if (lambda == 0)
        {
            return;
        }

        var weights = SpatialMutualInformation.GroupWeights(average, MutualInformationTemperature);
        for (var j = 0; j < score.Length; j++)
        {
            score[j] *= (1 - lambda) + (lambda * groups * weights[dominant[j]]);
        }
    }

    private void ApplyTemporalDiscount(
        double[] score, double[][] s, int[] dominant, int[] screenshot, IReadOnlyList<TokenInfo> tokens,
        ScreenshotGrid grid, StarKvLayerMemory memory)
    {
        var groups = s.Length;
        var attention = new double[groups][];
        for (var g = 0; g < groups; g++)
        {
            var normalised = TemporalStability.Normalise(screenshot.Select(j => s[g][j]).ToArray());
            if (normalised is null)
            {
                return;
            }

            attention[g] = normalised;
        }

        var ema = memory.StabilityEma;
        var sameGrid = ema is not null && memory.EmaGridRows == grid.Rows && memory.EmaGridCols == grid.Cols
            && ema[0].Length == screenshot.Length;
        if (!sameGrid)
        {
            ema = attention.Select(a => a.ToArray()).ToArray();
        }
        else if (memory.EmaScreenshotIndex != grid.ScreenshotIndex)
        {
            ema = ema!.Select((e, g) => TemporalStability.UpdateEma(e, attention[g], StabilityDecay)).ToArray();
        }

        memory.StabilityEma = ema;
        memory.EmaGridRows = grid.Rows;
        memory.EmaGridCols = grid.Cols;
        memory.EmaScreenshotIndex = grid.ScreenshotIndex;

        var screenshots = tokens.Where(t => t.Modality == TokenModality.Image).Select(t => t.ScreenshotIndex).Distinct().Count();
        if (screenshots < 2)
        {
            return;
        }

        var stability = attention.Select((a, g) => TemporalStability.Stability(a, ema![g])).ToArray();
        for (var j = 0; j < score.Length; j++)
        {
            var token = tokens[j];
            if (token.Modality == TokenModality.Image)
            {
                var age = grid.ScreenshotIndex - token.ScreenshotIndex;
                score[j] *= TemporalStability.Discount(age, stability[dominant[j]], DiscountRate);
            }
        }
    }

    /// <summary>Cache indices below <paramref name="past"/> of the current screenshot's entries.</summary>
    private static int[] CurrentScreenshotEntries(IReadOnlyList<TokenInfo> tokens, ScreenshotGrid? grid, int past)
    {
        if (grid is not { } current)
        {
            return [];
        }

        var entries = new List<int>();
        for (var j = 0; j < past; j++)
        {
            if (tokens[j].Modality == TokenModality.Image && tokens[j].ScreenshotIndex == current.ScreenshotIndex)
            {
                entries.Add(j);
            }
        }

        return entries.ToArray();
    }
}
