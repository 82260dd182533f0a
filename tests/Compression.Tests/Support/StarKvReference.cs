using StarKv.Compression.Api;

namespace StarKv.Compression.Tests.Support;

/// <summary>
/// STaR-KV in plain double loops with its own session memory, written from method.md and the formulas in the
/// compressor's documentation: the reference a whole multi-turn STaR-KV session is checked against.
/// </summary>
public sealed class StarKvReference
{
    private readonly Dictionary<int, LayerMemory> _layers = [];
    private double[]? _plan;

    public bool Adaptive { get; init; } = true;

    public bool Prior { get; init; } = true;

    public bool Temporal { get; init; } = true;

    public bool Temperature { get; init; } = true;

    public int Delay { get; init; } = 5;

    public int Ramp { get; init; } = 10;

    public long[] Compress(LayerCase c)
    {
        if (c.LayerIndex == 0)
        {
            _plan = Enumerable.Range(0, c.LayerCount).Select(l => _layers.TryGetValue(l, out var m) ? m.Entropy : double.NaN).ToArray();
        }

        // No-op only when the cache fits the layer's own budget; only compressing calls advance the ramp.
        var keep = LayerKeep(c);
        if (keep >= c.Length)
        {
            return Enumerable.Range(0, c.Length).Select(i => (long)i).ToArray();
        }

        var s = Reference.SnapGroupScores(c);
        Reference.AddSaliency(s, c);
        var (g, p) = (c.Groups, c.Past);
        var mem = _layers.TryGetValue(c.LayerIndex, out var m) ? m : _layers[c.LayerIndex] = new LayerMemory();
        mem.Calls++;
        var mean = new double[p];
        var dom = new int[p];
        for (var j = 0; j < p; j++)
        {
            for (var x = 0; x < g; x++)
            {
                mean[j] += s[x][j] / g;
                if (s[x][j] > s[dom[j]][j])
                {
                    dom[j] = x;
                }
            }
        }

        var entropy = NormalisedEntropy(mean);
        var t = 0.75 + (0.5 * entropy);
        mem.Entropy = entropy;

        double[] score;
        if (Adaptive && Temperature)
        {
            score = new double[p];
            for (var x = 0; x < g; x++)
            {
                var tg = 0.75 + (0.5 * NormalisedEntropy(s[x]));
                var total = s[x].Sum();
                var powered = s[x].Select(v => Math.Pow(v / total, 1 / tg)).ToArray();
                var z = powered.Sum();
                for (var j = 0; j < p; j++)
                {
                    score[j] += powered[j] / z / g;
                }
            }
        }
        else
        {
            score = mean.ToArray();
        }

        var grid = c.Grid;
        var v = grid is { } gr
            ? Enumerable.Range(0, p).Where(j => c.Tokens[j].Modality == TokenModality.Image && c.Tokens[j].ScreenshotIndex == gr.ScreenshotIndex).ToArray()
            : [];
        if (Prior)
        {
            var mi = new double[g];
            for (var x = 0; x < g && v.Length >= 2; x++)
            {
                mi[x] = MutualInformation(v.Select(j => s[x][j]).ToArray(), v.Select(j => c.Tokens[j]).ToArray(), grid!.Value);
            }

            mem.M = mem.M is null ? mi : mem.M.Select((old, x) => (0.9 * old) + (0.1 * mi[x])).ToArray();
            var lambda = mem.Calls <= Delay ? 0 : 0.5 * Math.Min(1, (double)(mem.Calls - Delay) / Ramp);
            var min = mem.M.Min();
            var spread = mem.M.Max() - min;
            var logits = mem.M.Select(x => spread < 1e-12 ? 0.5 : (x - min) / spread).ToArray();
            var w = logits.Select(Math.Exp).ToArray();
            var wsum = w.Sum();
            for (var j = 0; j < p; j++)
            {
                score[j] *= (1 - lambda) + (lambda * g * w[dom[j]] / wsum);
            }
        }

        if (Temporal && grid is { } cg && v.Length > 0)
        {
            var a = Enumerable.Range(0, g).Select(x =>
            {
                var sum = v.Sum(j => s[x][j]);
                return v.Select(j => s[x][j] / sum).ToArray();
            }).ToArray();
            if (mem.E is null || mem.Rows != cg.Rows || mem.Cols != cg.Cols || mem.E[0].Length != v.Length)
            {
                mem.E = a.Select(row => row.ToArray()).ToArray();
            }
            else if (mem.Shot != cg.ScreenshotIndex)
            {
                mem.E = mem.E.Select((e, x) => e.Select((value, i) => (0.9 * value) + (0.1 * a[x][i])).ToArray()).ToArray();
            }

            (mem.Rows, mem.Cols, mem.Shot) = (cg.Rows, cg.Cols, cg.ScreenshotIndex);
            var shots = c.Tokens.Where(tk => tk.Modality == TokenModality.Image).Select(tk => tk.ScreenshotIndex).Distinct().Count();
            if (shots >= 2)
            {
                var stab = Enumerable.Range(0, g).Select(x =>
                {
                    var dot = Reference.Dot(a[x], mem.E[x]);
                    return Math.Clamp(dot / Math.Sqrt(Reference.Dot(a[x], a[x]) * Reference.Dot(mem.E[x], mem.E[x])), 0, 1);
                }).ToArray();
                for (var j = 0; j < p; j++)
                {
                    if (c.Tokens[j].Modality == TokenModality.Image)
                    {
                        score[j] *= Math.Exp(-0.1 * (cg.ScreenshotIndex - c.Tokens[j].ScreenshotIndex) * stab[dom[j]]);
                    }
                }
            }
        }

        if (!Adaptive && Temperature)
        {
            score = score.Select(x => Math.Pow(Math.Max(x, 0), 1 / t)).ToArray();
        }

        return Reference.Select([score], c.Length, keep, c.Window, 1)[0];
    }

    private long LayerKeep(LayerCase c)
    {
        var uniform = Reference.Keep(c);
        if (!(Adaptive && Temperature))
        {
            return uniform;
        }

        if (_plan is null || _plan.Any(double.IsNaN) || uniform <= c.Window + 1)
        {
            return uniform;
        }

        var weights = _plan.Select(h => Math.Exp(h / (0.75 + (0.5 * h)))).ToArray();
        var spare = c.LayerCount * (uniform - c.Window - 1);
        var exact = weights.Select(w => spare * w / weights.Sum()).ToArray();
        var shares = exact.Select(e => (long)Math.Floor(e)).ToArray();
        var left = spare - shares.Sum();
        foreach (var l in Enumerable.Range(0, c.LayerCount).OrderByDescending(l => exact[l] - shares[l]).ThenBy(l => l).Take((int)left))
        {
            shares[l]++;
        }

        return c.Window + 1 + shares[c.LayerIndex];
    }

    public static double NormalisedEntropy(double[] w)
    {
        var sum = w.Sum();
        var h = -w.Select(x => x / sum).Where(x => x > 0).Sum(x => x * Math.Log(x));
        return w.Length <= 1 ? 0 : Math.Clamp(h / Math.Log(w.Length), 0, 1);
    }

    /// <summary>MI of 16 (or <paramref name="scoreBins"/>) equal-frequency score bins and 12×12 spatial bins (by cell centre) of the real grid, nats.</summary>
    public static double MutualInformation(double[] scores, TokenInfo[] cells, ScreenshotGrid grid, int scoreBins = 16)
    {
        var n = scores.Length;
        var ranked = Enumerable.Range(0, n).OrderBy(i => scores[i]).ThenBy(i => i).ToArray();
        var a = new int[n];
        for (var rank = 0; rank < n; rank++)
        {
            a[ranked[rank]] = rank * scoreBins / n;
        }

        // The cell's centre: floor((row + 0.5)·12/R), floor((col + 0.5)·12/C).
        var y = cells.Select(t => ((int)Math.Floor((t.GridRow + 0.5) * 12 / grid.Rows) * 12) + (int)Math.Floor((t.GridCol + 0.5) * 12 / grid.Cols)).ToArray();
        if (scores.Distinct().Count() < 2 || a.Distinct().Count() < 2 || y.Distinct().Count() < 2)
        {
            return 0;
        }

        var mi = 0.0;
        foreach (var pair in Enumerable.Range(0, n).GroupBy(i => (a[i], y[i])))
        {
            var pxy = (double)pair.Count() / n;
            var px = (double)a.Count(v => v == pair.Key.Item1) / n;
            var py = (double)y.Count(v => v == pair.Key.Item2) / n;
            mi += pxy * Math.Log(pxy / (px * py));
        }

        return Math.Max(0, mi);
    }

    private sealed class LayerMemory
    {
        public double[]? M { get; set; }

        public double[][]? E { get; set; }

        public int Rows { get; set; }

        public int Cols { get; set; }

        public int Shot { get; set; } = -1;

        public double Entropy { get; set; } = double.NaN;

        public int Calls { get; set; }
    }
}
