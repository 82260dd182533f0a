using StarKv.Compression.Api;
using StarKv.GpuWorker.Cache;
using StarKv.GpuWorker.Model.Layers;
using StarKv.GpuWorker.Model.Text;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.Model;

public sealed class TextBlocksTests
{
    [Fact]
    public void RmsNorm_matches_the_double_loop()
    {
        var rng = new Random(1);
        using var x = TinyQwen.Random(rng, 2.0, 5, 64); // [5, 64]
        using var weight = TinyQwen.Random(rng, 1.0, 64); // [64]
        using var norm = new RmsNorm(weight.clone(), 1e-6);
        using var y = norm.Forward(x);

        var expected = Reference.RmsNorm(Reference.Matrix(x), Reference.Vector(weight), 1e-6);
        Assert.True(Reference.MaxAbsDiff(expected, y) < 1e-5);
    }

    [Fact]
    public void SwiGlu_matches_the_double_loop()
    {
        var rng = new Random(2);
        using var x = TinyQwen.Random(rng, 1.0, 4, 16); // [4, 16]
        using var gate = TinyQwen.Random(rng, 0.3, 24, 16);
        using var gateBias = TinyQwen.Random(rng, 0.1, 24);
        using var up = TinyQwen.Random(rng, 0.3, 24, 16);
        using var upBias = TinyQwen.Random(rng, 0.1, 24);
        using var down = TinyQwen.Random(rng, 0.3, 16, 24);
        using var downBias = TinyQwen.Random(rng, 0.1, 16);
        using var mlp = new SwiGluMlp(gate.clone(), gateBias.clone(), up.clone(), upBias.clone(), down.clone(), downBias.clone());
        using var y = mlp.Forward(x);

        var expected = Reference.SwiGlu(
            Reference.Matrix(x), Reference.Matrix(gate), Reference.Vector(gateBias), Reference.Matrix(up), Reference.Vector(upBias), Reference.Matrix(down), Reference.Vector(downBias));
        Assert.True(Reference.MaxAbsDiff(expected, y) < 1e-5);
    }

    [Fact]
    public void Mrope_rotates_each_frequency_section_with_its_own_position_axis()
    {
        const int Dim = 16;
        int[] section = [2, 3, 3];
        long[][] positions = [[0, 7, 7, 7, 13], [0, 7, 8, 9, 13], [0, 7, 7, 11, 13]];
        var rng = new Random(3);
        using var x = TinyQwen.Random(rng, 1.0, 2, 5, Dim); // [H, T, D]
        using var pos = torch.tensor(positions.SelectMany(p => p).ToArray(), [3, 5]); // [3, T]
        var (cos, sin) = MropeRotary.CosSin(pos, Dim, 10000, section, torch.CPU, torch.ScalarType.Float32);
        using var _ = cos;
        using var __ = sin;
        using var rotated = MropeRotary.Apply(x, cos, sin);

        var xs = Reference.Vector(x);
        var actual = Reference.Vector(rotated);
        var worst = 0.0;
        for (var h = 0; h < 2; h++)
        {
            for (var t = 0; t < 5; t++)
            {
                var angles = Reference.MropeAngles(positions[0][t], positions[1][t], positions[2][t], Dim, 10000, section);
                var expected = Reference.Rotate(xs.AsSpan(((h * 5) + t) * Dim, Dim).ToArray(), angles);
                for (var d = 0; d < Dim; d++)
                {
                    worst = Math.Max(worst, Math.Abs(expected[d] - actual[(((h * 5) + t) * Dim) + d]));
                }
            }
        }

        Assert.True(worst < 1e-5, $"max abs difference {worst}");
    }

    [Fact]
    public void Grouped_query_attention_with_mrope_matches_the_double_loop()
    {
        var config = TinyQwen.Config();
        var weights = TinyQwen.Weights(config);
        try
        {
            using var attention = TextAttention.Load(new WeightReader(weights, torch.CPU, torch.ScalarType.Float32), "model.layers.0.self_attn", config.Text);
            using var cache = new LayerKvCache(2, 16, torch.CPU, torch.ScalarType.Float32);
            long[][] positions = [[0, 1, 2, 2, 2, 2, 4], [0, 1, 2, 2, 3, 3, 4], [0, 1, 2, 3, 2, 3, 4]];
            using var x = TinyQwen.Random(new Random(4), 1.0, 7, 64); // [T, hidden]

            var (output, queries, _) = RunTurn(attention, cache, x, positions, 0);
            using var o = output;
            using var q = queries;

            var reference = new ReferenceAttention(config, weights, 0);
            var (expected, expectedQueries, expectedKeys, _) = reference.Run(Reference.Matrix(x), positions, [[], []], [[], []]);
            Assert.True(Reference.MaxAbsDiff(expected, o) < 1e-5);
            Assert.True(Reference.MaxAbsDiff(expectedQueries.SelectMany(h => h).ToArray(), q.reshape(-1, 16)) < 1e-5);
            Assert.True(Reference.MaxAbsDiff(expectedKeys.SelectMany(h => h).ToArray(), cache.Keys.reshape(-1, 16)) < 1e-5);
            Assert.Equal(7, cache.Count);
        }
        finally
        {
            TinyQwen.Dispose(weights);
        }
    }

    [Fact]
    public void Attention_after_a_per_head_gather_equals_attention_over_each_heads_kept_entries()
    {
        var config = TinyQwen.Config();
        var weights = TinyQwen.Weights(config);
        try
        {
            using var attention = TextAttention.Load(new WeightReader(weights, torch.CPU, torch.ScalarType.Float32), "model.layers.1.self_attn", config.Text);
            using var cache = new LayerKvCache(2, 16, torch.CPU, torch.ScalarType.Float32);
            var rng = new Random(5);
            long[][] first = [[0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]];
            using var x1 = TinyQwen.Random(rng, 1.0, 6, 64);
            var (o1, q1, _) = RunTurn(attention, cache, x1, first, 0);
            o1.Dispose();
            q1.Dispose();

            var keysBefore = Reference.Vector(cache.Keys); // [G, 6, D]
            var valuesBefore = Reference.Vector(cache.Values);
            long[][] keep = [[0, 2, 5], [1, 3, 4]];
            using (var indices = torch.tensor(keep.SelectMany(k => k).ToArray(), [2, 3]))
            {
                cache.Gather(indices);
            }

            long[][] second = [[9, 10, 11], [9, 10, 12], [9, 11, 10]];
            using var x2 = TinyQwen.Random(rng, 1.0, 3, 64);
            var (output, queries, _) = RunTurn(attention, cache, x2, second, 6);
            using var o = output;
            using var q = queries;

            var keptKeys = keep.Select((rows, g) => rows.Select(j => keysBefore.AsSpan((int)(((g * 6) + j) * 16), 16).ToArray()).ToList()).ToArray();
            var keptValues = keep.Select((rows, g) => rows.Select(j => valuesBefore.AsSpan((int)(((g * 6) + j) * 16), 16).ToArray()).ToList()).ToArray();
            var (expected, _, _, _) = new ReferenceAttention(config, weights, 1).Run(Reference.Matrix(x2), second, keptKeys, keptValues);
            Assert.True(Reference.MaxAbsDiff(expected, o) < 1e-5);
            Assert.Equal(6, cache.Count);
            Assert.Equal(9, cache.SeenTokens);
            Assert.Equal([0L, 2, 5, 6, 7, 8], cache.Tokens[0].Select(t => t.Position));
            Assert.Equal([1L, 3, 4, 6, 7, 8], cache.Tokens[1].Select(t => t.Position));
        }
        finally
        {
            TinyQwen.Dispose(weights);
        }
    }

    [Fact]
    public void The_column_sum_attention_gives_the_same_output_and_each_groups_attention_per_entry()
    {
        var config = TinyQwen.Config();
        var weights = TinyQwen.Weights(config);
        try
        {
            using var attention = TextAttention.Load(new WeightReader(weights, torch.CPU, torch.ScalarType.Float32), "model.layers.1.self_attn", config.Text);
            using var cache = new LayerKvCache(2, 16, torch.CPU, torch.ScalarType.Float32);
            using var reference = new LayerKvCache(2, 16, torch.CPU, torch.ScalarType.Float32);
            var rng = new Random(8);
            long[][] first = [[0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]];
            using var x1 = TinyQwen.Random(rng, 1.0, 6, 64);
            foreach (var layer in new[] { cache, reference })
            {
                var (o, q, _) = RunTurn(attention, layer, x1, first, 0);
                o.Dispose();
                q.Dispose();
                using var indices = torch.tensor(new long[] { 0, 2, 5, 1, 3, 4 }, [2, 3]);
                layer.Gather(indices);
            }

            // A turn longer than one chunk of the explicit attention, so chunks meet the causal mask at different offsets.
            var turn = GroupedAttention.ColumnSumChunk + 37;
            long[][] second = [.. Enumerable.Range(0, 3).Select(_ => Enumerable.Range(9, turn).Select(i => (long)i).ToArray())];
            using var x2 = TinyQwen.Random(rng, 1.0, turn, 64);
            var (expected, _, _) = RunTurn(attention, reference, x2, second, 6);
            var (output, queries, sums) = RunTurn(attention, cache, x2, second, 6, columnSums: true);
            using var e = expected;
            using var o2 = output;
            using var q2 = queries;
            using var s2 = sums!;
            Assert.True(o2.allclose(e, 1e-5, 1e-5));

            // Σ over the turn's queries and the group's heads of softmax(q·k/√D), causal, in double precision.
            var qs = Reference.Vector(q2); // [H, T, D]
            var ks = Reference.Vector(cache.Keys); // [G, N, D]
            int heads = 4, groups = 2, dim = 16, stored = (int)cache.Count, past = stored - turn;
            var expectedSums = new double[groups * stored];
            for (var h = 0; h < heads; h++)
            {
                var g = h / (heads / groups);
                for (var t = 0; t < turn; t++)
                {
                    var visible = past + t + 1;
                    var logits = new double[visible];
                    for (var j = 0; j < visible; j++)
                    {
                        var dot = 0.0;
                        for (var d = 0; d < dim; d++)
                        {
                            dot += qs[(((h * turn) + t) * dim) + d] * ks[(((g * stored) + j) * dim) + d];
                        }

                        logits[j] = dot / Math.Sqrt(dim);
                    }

                    var max = logits.Max();
                    var total = logits.Sum(l => Math.Exp(l - max));
                    for (var j = 0; j < visible; j++)
                    {
                        expectedSums[(g * stored) + j] += Math.Exp(logits[j] - max) / total;
                    }
                }
            }

            Assert.Equal([groups, stored], s2.shape);
            Assert.True(Reference.MaxAbsDiff(expectedSums, s2) < 1e-4);
        }
        finally
        {
            TinyQwen.Dispose(weights);
        }
    }

    private static (torch.Tensor Output, torch.Tensor Queries, torch.Tensor? ColumnSums) RunTurn(TextAttention attention, LayerKvCache cache, torch.Tensor x, long[][] positions, long firstIndex, bool columnSums = false)
    {
        var count = positions[0].Length;
        using var pos = torch.tensor(positions.SelectMany(p => p).ToArray(), [3, count]);
        var (cos, sin) = MropeRotary.CosSin(pos, 16, 10000, [2, 3, 3], torch.CPU, torch.ScalarType.Float32);
        using var _ = cos;
        using var __ = sin;
        var tokens = Enumerable.Range(0, count).Select(i => TokenInfo.Text(firstIndex + i)).ToArray();
        return attention.Forward(x, cos, sin, cache, tokens, columnSums);
    }
}

/// <summary>One decoder layer's attention in double precision: per query head, its group's retained entries then the turn causally.</summary>
internal sealed class ReferenceAttention
{
    private readonly double[][] _q, _k, _v, _o;
    private readonly double[] _qb, _kb, _vb;
    private readonly int _heads, _groups, _dim;
    private readonly double _theta;
    private readonly IReadOnlyList<int> _section;

    public ReferenceAttention(StarKv.GpuWorker.Model.Qwen25VlConfig config, Dictionary<string, torch.Tensor> w, int layer)
    {
        var p = $"model.layers.{layer}.self_attn";
        _q = Reference.Matrix(w[$"{p}.q_proj.weight"]);
        _k = Reference.Matrix(w[$"{p}.k_proj.weight"]);
        _v = Reference.Matrix(w[$"{p}.v_proj.weight"]);
        _o = Reference.Matrix(w[$"{p}.o_proj.weight"]);
        _qb = Reference.Vector(w[$"{p}.q_proj.bias"]);
        _kb = Reference.Vector(w[$"{p}.k_proj.bias"]);
        _vb = Reference.Vector(w[$"{p}.v_proj.bias"]);
        _heads = config.Text.NumAttentionHeads;
        _groups = config.Text.NumKeyValueHeads;
        _dim = config.Text.HeadDim;
        _theta = config.Text.RopeTheta;
        _section = config.Text.MropeSection;
    }

    /// <summary>Returns the output [T][hidden], rotated queries [H][T][D], the turn's rotated keys and values [G][T][D].</summary>
    public (double[][] Output, double[][][] Queries, double[][][] Keys, double[][][] Values) Run(
        double[][] x, long[][] positions, IReadOnlyList<List<double[]>> retainedKeys, IReadOnlyList<List<double[]>> retainedValues)
    {
        var turn = x.Length;
        var q = Reference.Linear(x, _q, _qb);
        var k = Reference.Linear(x, _k, _kb);
        var v = Reference.Linear(x, _v, _vb);
        double[] Head(double[][] m, int t, int h) => m[t].AsSpan(h * _dim, _dim).ToArray();
        double[] Angles(int t) => Reference.MropeAngles(positions[0][t], positions[1][t], positions[2][t], _dim, _theta, _section);
        var queries = Enumerable.Range(0, _heads).Select(h => Enumerable.Range(0, turn).Select(t => Reference.Rotate(Head(q, t, h), Angles(t))).ToArray()).ToArray();
        var keys = Enumerable.Range(0, _groups).Select(g => Enumerable.Range(0, turn).Select(t => Reference.Rotate(Head(k, t, g), Angles(t))).ToArray()).ToArray();
        var values = Enumerable.Range(0, _groups).Select(g => Enumerable.Range(0, turn).Select(t => Head(v, t, g)).ToArray()).ToArray();
        var r = _heads / _groups;
        var concat = new double[turn][];
        for (var t = 0; t < turn; t++)
        {
            concat[t] = new double[_heads * _dim];
            for (var h = 0; h < _heads; h++)
            {
                var g = h / r;
                var visibleKeys = retainedKeys[g].Concat(keys[g].Take(t + 1)).ToList();
                var visibleValues = retainedValues[g].Concat(values[g].Take(t + 1)).ToList();
                Reference.Attend(queries[h][t], visibleKeys, visibleValues).CopyTo(concat[t], h * _dim);
            }
        }

        return (Reference.Linear(concat, _o, null), queries, keys, values);
    }
}
