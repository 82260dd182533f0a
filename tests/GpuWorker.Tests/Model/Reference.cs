using TorchSharp;

namespace StarKv.GpuWorker.Tests.Model;

/// <summary>Plain double-precision loops that the tensor code is checked against. Matrices are [rows][cols].</summary>
internal static class Reference
{
    public static double[][] Matrix(torch.Tensor t)
    {
        using var d = t.to(torch.ScalarType.Float64).cpu().contiguous();
        var rows = (int)d.shape[0];
        var cols = (int)(d.NumberOfElements / Math.Max(1, rows));
        var flat = d.data<double>().ToArray();
        return Enumerable.Range(0, rows).Select(r => flat.AsSpan(r * cols, cols).ToArray()).ToArray();
    }

    public static double[] Vector(torch.Tensor t)
    {
        using var d = t.to(torch.ScalarType.Float64).cpu().contiguous();
        return d.data<double>().ToArray();
    }

    public static double[][] Linear(double[][] x, double[][] w, double[]? b)
    {
        var output = new double[x.Length][];
        for (var i = 0; i < x.Length; i++)
        {
            output[i] = new double[w.Length];
            for (var o = 0; o < w.Length; o++)
            {
                var sum = b?[o] ?? 0;
                for (var k = 0; k < x[i].Length; k++)
                {
                    sum += x[i][k] * w[o][k];
                }

                output[i][o] = sum;
            }
        }

        return output;
    }

    public static double[][] RmsNorm(double[][] x, double[] weight, double eps) => x.Select(row =>
    {
        var meanSquare = row.Sum(v => v * v) / row.Length;
        var scale = 1 / Math.Sqrt(meanSquare + eps);
        return row.Select((v, i) => weight[i] * v * scale).ToArray();
    }).ToArray();

    public static double Silu(double v) => v / (1 + Math.Exp(-v));

    public static double Gelu(double v) => 0.5 * v * (1 + Erf(v / Math.Sqrt(2)));

    public static double[][] SwiGlu(double[][] x, double[][] gate, double[]? gateBias, double[][] up, double[]? upBias, double[][] down, double[]? downBias)
    {
        var g = Linear(x, gate, gateBias);
        var u = Linear(x, up, upBias);
        var inner = g.Select((row, i) => row.Select((v, j) => Silu(v) * u[i][j]).ToArray()).ToArray();
        return Linear(inner, down, downBias);
    }

    public static double[][] Add(double[][] a, double[][] b) => a.Select((row, i) => row.Select((v, j) => v + b[i][j]).ToArray()).ToArray();

    /// <summary>Rotates one head vector by angles[j] on the pairs (j, j + D/2).</summary>
    public static double[] Rotate(double[] x, double[] halfAngles)
    {
        var half = x.Length / 2;
        var y = new double[x.Length];
        for (var j = 0; j < half; j++)
        {
            double c = Math.Cos(halfAngles[j]), s = Math.Sin(halfAngles[j]);
            y[j] = (x[j] * c) - (x[j + half] * s);
            y[j + half] = (x[j + half] * c) + (x[j] * s);
        }

        return y;
    }

    /// <summary>M-RoPE angles of one token: frequency j turns with the t, h or w position by mrope_section.</summary>
    public static double[] MropeAngles(long t, long h, long w, int headDim, double theta, IReadOnlyList<int> section)
    {
        var half = headDim / 2;
        var angles = new double[half];
        for (var j = 0; j < half; j++)
        {
            var position = j < section[0] ? t : j < section[0] + section[1] ? h : w;
            angles[j] = position * Math.Pow(theta, -2.0 * j / headDim);
        }

        return angles;
    }

    /// <summary>Softmax attention of one query over keys/values (all visible). Scale 1/√D.</summary>
    public static double[] Attend(double[] q, IReadOnlyList<double[]> keys, IReadOnlyList<double[]> values)
    {
        var scale = 1 / Math.Sqrt(q.Length);
        var logits = keys.Select(k => k.Select((v, i) => v * q[i]).Sum() * scale).ToArray();
        var max = logits.Max();
        var weights = logits.Select(l => Math.Exp(l - max)).ToArray();
        var total = weights.Sum();
        var output = new double[values[0].Length];
        for (var j = 0; j < keys.Count; j++)
        {
            for (var d = 0; d < output.Length; d++)
            {
                output[d] += weights[j] / total * values[j][d];
            }
        }

        return output;
    }

    public static double MaxAbsDiff(double[][] expected, torch.Tensor actual)
    {
        var a = Matrix(actual);
        var max = 0.0;
        for (var i = 0; i < expected.Length; i++)
        {
            for (var j = 0; j < expected[i].Length; j++)
            {
                max = Math.Max(max, Math.Abs(expected[i][j] - a[i][j]));
            }
        }

        return max;
    }

    public static double MaxAbsDiff(double[] expected, torch.Tensor actual)
    {
        var a = Vector(actual);
        Assert.Equal(expected.Length, a.Length);
        return expected.Select((v, i) => Math.Abs(v - a[i])).Max();
    }

    /// <summary>erf from the Chebyshev fit of erfc (Numerical Recipes, |error| &lt; 1.2e-7).</summary>
    private static double Erf(double x)
    {
        var z = Math.Abs(x);
        var t = 1 / (1 + (0.5 * z));
        double[] c = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277];
        var poly = 0.0;
        for (var k = c.Length - 1; k >= 0; k--)
        {
            poly = c[k] + (t * poly);
        }

        var r = t * Math.Exp((-z * z) + poly);
        return x >= 0 ? 1 - r : r - 1;
    }
}
