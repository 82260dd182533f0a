using static TorchSharp.torch;

namespace StarKv.Silo;

/// <summary>What the native torch runtime reports about itself, and one attention call checked by hand.</summary>
public sealed record TorchSelfCheckReport(string TorchVersion, int Threads, double SdpaMaxAbsError);

/// <summary>
/// Loads libtorch, runs <c>scaled_dot_product_attention</c> on a small seeded input and compares it with
/// softmax(q·kᵀ/√d)·v computed in double precision with plain loops.
/// </summary>
public static class TorchSelfCheck
{
    public static TorchSelfCheckReport Run()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(seed: 7);
        var q = randn(new long[] { 1, 2, 5, 8 }, generator: generator); // [batch, heads, tokens, dim]
        var k = randn(new long[] { 1, 2, 5, 8 }, generator: generator); // [batch, heads, tokens, dim]
        var v = randn(new long[] { 1, 2, 5, 8 }, generator: generator); // [batch, heads, tokens, dim]
        var output = nn.functional.scaled_dot_product_attention(q, k, v); // [batch, heads, tokens, dim]

        var expected = ReferenceAttention(q.data<float>().ToArray(), k.data<float>().ToArray(), v.data<float>().ToArray(), 2, 5, 8);
        var actual = output.data<float>().ToArray();
        double maxError = 0;
        for (var i = 0; i < actual.Length; i++)
        {
            maxError = Math.Max(maxError, Math.Abs(actual[i] - expected[i]));
        }

        return new TorchSelfCheckReport(__version__, get_num_threads(), maxError);
    }

    private static double[] ReferenceAttention(float[] q, float[] k, float[] v, int heads, int tokens, int dim)
    {
        var result = new double[heads * tokens * dim];
        var logits = new double[tokens];
        var scale = 1.0 / Math.Sqrt(dim);
        for (var h = 0; h < heads; h++)
        {
            for (var i = 0; i < tokens; i++)
            {
                var max = double.NegativeInfinity;
                for (var j = 0; j < tokens; j++)
                {
                    double dot = 0;
                    for (var d = 0; d < dim; d++)
                    {
                        dot += (double)q[((h * tokens) + i) * dim + d] * k[((h * tokens) + j) * dim + d];
                    }

                    logits[j] = dot * scale;
                    max = Math.Max(max, logits[j]);
                }

                double sum = 0;
                for (var j = 0; j < tokens; j++)
                {
                    logits[j] = Math.Exp(logits[j] - max);
                    sum += logits[j];
                }

                for (var d = 0; d < dim; d++)
                {
                    double acc = 0;
                    for (var j = 0; j < tokens; j++)
                    {
                        acc += logits[j] / sum * v[((h * tokens) + j) * dim + d];
                    }

                    result[((h * tokens) + i) * dim + d] = acc;
                }
            }
        }

        return result;
    }
}
