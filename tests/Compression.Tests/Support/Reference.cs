using StarKv.Compression.Api;

namespace StarKv.Compression.Tests.Support;

/// <summary>
/// Plain double-precision loops for every building block and baseline, written from method.md without the
/// library's code: the independent reference the compressors are checked against.
/// </summary>
public static class Reference
{
    /// <summary>max(W + 1, ⌊b·L_seen⌋) with b read as the decimal it is written as (decimal arithmetic, exact here).</summary>
    public static long Keep(LayerCase c) => Keep(c.Budget.Ratio!.Value, c.SeenTokens, c.Window);

    public static long Keep(double ratio, long seen, int window) =>
        Math.Max(window + 1L, (long)decimal.Floor(decimal.Parse(ratio.ToString("R", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture) * seen));

    /// <summary>a_h[j] = Σ_i softmax(q_i·k/√D)[j] over causal keys, j &lt; P. [H][P]</summary>
    public static double[][] WindowScores(LayerCase c)
    {
        var (h, w, l, d, p) = (c.Heads, c.Window, c.Length, c.Dim, c.Past);
        var r = h / c.Groups;
        var a = new double[h][];
        for (var head = 0; head < h; head++)
        {
            a[head] = new double[p];
            var k = c.Keys[head / r];
            for (var i = 0; i < w; i++)
            {
                var visible = p + i + 1;
                var logits = new double[visible];
                for (var j = 0; j < visible; j++)
                {
                    double dot = 0;
                    for (var x = 0; x < d; x++)
                    {
                        dot += (double)c.WindowQueries[head][i][x] * k[j][x];
                    }

                    logits[j] = dot / Math.Sqrt(d);
                }

                var max = logits.Max();
                var sum = logits.Sum(v => Math.Exp(v - max));
                for (var j = 0; j < p; j++)
                {
                    a[head][j] += Math.Exp(logits[j] - max) / sum;
                }
            }
        }

        return a;
    }

    public static double[] AveragePool(double[] x, int kernel)
    {
        var half = kernel / 2;
        var y = new double[x.Length];
        for (var j = 0; j < x.Length; j++)
        {
            for (var i = j - half; i <= j + half; i++)
            {
                if (i >= 0 && i < x.Length)
                {
                    y[j] += x[i];
                }
            }

            y[j] /= kernel;
        }

        return y;
    }

    public static double[] MaxPool(double[] x, int kernel)
    {
        var half = kernel / 2;
        var y = new double[x.Length];
        for (var j = 0; j < x.Length; j++)
        {
            y[j] = double.NegativeInfinity;
            for (var i = Math.Max(0, j - half); i <= Math.Min(x.Length - 1, j + half); i++)
            {
                y[j] = Math.Max(y[j], x[i]);
            }
        }

        return y;
    }

    /// <summary>Mean over each group's query heads of the average-pooled (kernel 5) window scores. [G][P]</summary>
    public static double[][] SnapGroupScores(LayerCase c, bool pool = true)
    {
        var a = WindowScores(c).Select(row => pool ? AveragePool(row, 5) : row).ToArray();
        var r = c.Heads / c.Groups;
        var s = new double[c.Groups][];
        for (var g = 0; g < c.Groups; g++)
        {
            s[g] = new double[c.Past];
            for (var j = 0; j < c.Past; j++)
            {
                for (var x = 0; x < r; x++)
                {
                    s[g][j] += a[(g * r) + x][j] / r;
                }
            }
        }

        return s;
    }

    /// <summary>β = α·softmax(z/τ), z the standardised hidden-state norms (population std).</summary>
    public static double[] Saliency(float[][] hidden, double alpha = 2.0, double tau = 3.5)
    {
        var u = hidden.Select(row => Math.Sqrt(row.Sum(v => (double)v * v))).ToArray();
        var mean = u.Average();
        var std = Math.Sqrt(u.Sum(v => (v - mean) * (v - mean)) / u.Length);
        var z = u.Select(v => (v - mean) / (std + 1e-8) / tau).ToArray();
        var max = z.Max();
        var sum = z.Sum(v => Math.Exp(v - max));
        return z.Select(v => alpha * Math.Exp(v - max) / sum).ToArray();
    }

    public static void AddSaliency(double[][] s, LayerCase c)
    {
        if (c.Grid is not { } grid || c.Hidden.Length == 0)
        {
            return;
        }

        var beta = Saliency(c.Hidden);
        var ordinal = 0;
        for (var j = 0; j < c.Length; j++)
        {
            if (c.Tokens[j].Modality == TokenModality.Image && c.Tokens[j].ScreenshotIndex == grid.ScreenshotIndex)
            {
                if (j < c.Past)
                {
                    foreach (var row in s)
                    {
                        row[j] += beta[ordinal];
                    }
                }

                ordinal++;
            }
        }
    }

    /// <summary>Per row: the last <paramref name="recent"/> entries plus the best of the rest (score desc, index asc), sorted.</summary>
    public static long[][] Select(double[][] scores, int length, long keep, long recent, int groups)
    {
        if (keep >= length)
        {
            return Enumerable.Range(0, groups).Select(_ => Enumerable.Range(0, length).Select(i => (long)i).ToArray()).ToArray();
        }

        var rows = scores.Select(row =>
        {
            var candidates = length - recent;
            var order = Enumerable.Range(0, (int)candidates).ToList();
            order.Sort((x, y) => row[x] != row[y] ? row[y].CompareTo(row[x]) : x.CompareTo(y));
            return order.Take((int)(keep - recent)).Select(i => (long)i)
                .Concat(Enumerable.Range((int)candidates, (int)recent).Select(i => (long)i))
                .Order().ToArray();
        }).ToArray();
        return rows.Length == groups ? rows : Enumerable.Range(0, groups).Select(_ => rows[0]).ToArray();
    }

    public static long[][] SnapKv(LayerCase c) =>
        Select(SnapGroupScores(c), c.Length, Keep(c), c.Window, c.Groups);

    /// <summary>
    /// PyramidKV's layer budget: W + ⌊B_max − l·(B_max − B_min)/(N − 1)⌋ with B = keep − W, B_min = max(1, ⌊B/20⌋),
    /// B_max = 2B − B_min, capped at C = L_seen − W (then B_max = C, B_min = 2B − C); the uniform keep when B ≥ C.
    /// </summary>
    public static long PyramidKeep(LayerCase c) => PyramidKeep(Keep(c), c.Window, c.LayerIndex, c.LayerCount, c.SeenTokens);

    public static long PyramidKeep(long uniformKeep, int window, int layer, int layers, long seen)
    {
        var past = uniformKeep - window;
        var cap = seen - window;
        if (layers == 1 || past >= cap)
        {
            return uniformKeep;
        }

        var min = Math.Max(1, past / 20);
        var max = (2 * past) - min;
        if (max > cap)
        {
            max = cap;
            min = (2 * past) - cap;
        }

        return window + (long)Math.Floor(max - (layer * (double)(max - min) / (layers - 1)));
    }

    /// <summary>A layer keeps everything only when its cache fits its own (pyramid) budget.</summary>
    public static long[][] PyramidKv(LayerCase c) =>
        Select(SnapGroupScores(c), c.Length, PyramidKeep(c), c.Window, c.Groups);

    public static long[][] StreamingLlm(LayerCase c)
    {
        var keep = Keep(c);
        var scores = new[] { Enumerable.Range(0, c.Past).Select(j => (double)-j).ToArray() };
        return Select(scores, c.Length, keep, Math.Max(c.Window, keep - 4), c.Groups);
    }

    public static long[][] H2O(LayerCase c)
    {
        var q = c.TurnQueries!;
        var (h, t, l, d) = (c.Heads, q[0].Length, c.Length, c.Dim);
        var r = h / c.Groups;
        var scores = new double[c.Groups][];
        for (var g = 0; g < c.Groups; g++)
        {
            scores[g] = new double[c.Past];
        }

        for (var head = 0; head < h; head++)
        {
            var total = new double[l];
            for (var i = 0; i < t; i++)
            {
                var visible = l - t + i + 1;
                var logits = new double[visible];
                for (var j = 0; j < visible; j++)
                {
                    double dot = 0;
                    for (var x = 0; x < d; x++)
                    {
                        dot += (double)q[head][i][x] * c.Keys[head / r][j][x];
                    }

                    logits[j] = dot / Math.Sqrt(d);
                }

                var max = logits.Max();
                var sum = logits.Sum(v => Math.Exp(v - max));
                for (var j = 0; j < visible; j++)
                {
                    total[j] += Math.Exp(logits[j] - max) / sum;
                }
            }

            for (var j = 0; j < c.Past; j++)
            {
                scores[head / r][j] += total[j] / Math.Min(t, l - j) / r;
            }
        }

        var keep = Keep(c);
        return Select(scores, l, keep, Math.Max(c.Window, keep - (keep / 2)), c.Groups);
    }

    /// <summary>GUI-KV: snap scores + β, history image entries × ‖k − proj_span(current keys) k‖/‖k‖ (Gram–Schmidt).</summary>
    public static long[][] GuiKv(LayerCase c, int rank = 32)
    {
        var s = SnapGroupScores(c);
        AddSaliency(s, c);
        var grid = c.Grid!.Value;
        var current = Enumerable.Range(0, c.Length)
            .Where(j => c.Tokens[j].Modality == TokenModality.Image && c.Tokens[j].ScreenshotIndex == grid.ScreenshotIndex).ToArray();
        var basisSize = Math.Min(rank, current.Length);
        for (var g = 0; g < c.Groups; g++)
        {
            var basis = new List<double[]>();
            for (var i = 0; i < basisSize; i++)
            {
                var v = c.Keys[g][current[i * current.Length / basisSize]].Select(x => (double)x).ToArray();
                for (var pass = 0; pass < 2; pass++)
                {
                    foreach (var b in basis)
                    {
                        var dot = Dot(v, b);
                        for (var x = 0; x < v.Length; x++)
                        {
                            v[x] -= dot * b[x];
                        }
                    }
                }

                var norm = Math.Sqrt(Dot(v, v));
                basis.Add(v.Select(x => x / norm).ToArray());
            }

            for (var j = 0; j < c.Past; j++)
            {
                var token = c.Tokens[j];
                if (token.Modality != TokenModality.Image || token.ScreenshotIndex >= grid.ScreenshotIndex)
                {
                    continue;
                }

                var k = c.Keys[g][j].Select(x => (double)x).ToArray();
                var residual = k.ToArray();
                foreach (var b in basis)
                {
                    var dot = Dot(k, b);
                    for (var x = 0; x < k.Length; x++)
                    {
                        residual[x] -= dot * b[x];
                    }
                }

                var kn = Math.Sqrt(Dot(k, k));
                s[g][j] *= kn > 0 ? Math.Min(1, Math.Sqrt(Dot(residual, residual)) / kn) : 0;
            }
        }

        return Select(s, c.Length, Keep(c), c.Window, c.Groups);
    }

    public static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }
}
