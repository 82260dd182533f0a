using StarKv.Compression.Api;
using StarKv.GpuWorker.Cache;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.Cache;

public sealed class KvCacheTests
{
    private const int Heads = 2;
    private const int Dim = 4;

    [Fact]
    public void Append_grows_stored_and_seen_counts_and_bytes()
    {
        using var cache = new LayerKvCache(Heads, Dim, torch.CPU, torch.ScalarType.Float32);
        Assert.Equal(0, cache.Bytes);
        AppendTokens(cache, 0, 5);
        AppendTokens(cache, 5, 3);

        Assert.Equal(8, cache.Count);
        Assert.Equal(8, cache.SeenTokens);
        Assert.Equal(2L * Heads * 8 * Dim * sizeof(float), cache.Bytes);
        Assert.Equal([Heads, 8, Dim], cache.Keys.shape);
        Assert.Equal(7, cache.Tokens[1][7].Position);
        Assert.Equal(KeyValue(1, 7, 2, isValue: false), cache.Keys[1, 7, 2].item<float>());
    }

    [Fact]
    public void Gather_keeps_exactly_the_selected_rows_per_head_and_frees_the_old_tensors()
    {
        using var cache = new LayerKvCache(Heads, Dim, torch.CPU, torch.ScalarType.Float32);
        AppendTokens(cache, 0, 6);
        var oldKeys = cache.Keys;
        var oldValues = cache.Values;
        long[][] keep = [[0, 2, 5], [1, 3, 4]];
        using var indices = torch.tensor(keep.SelectMany(k => k).ToArray(), [Heads, 3], torch.ScalarType.Int64); // [G, K]

        cache.Gather(indices);

        Assert.True(oldKeys.IsInvalid);
        Assert.True(oldValues.IsInvalid);
        Assert.Equal([Heads, 3, Dim], cache.Keys.shape);
        Assert.Equal(3, cache.Count);
        Assert.Equal(6, cache.SeenTokens);
        Assert.Equal(2L * Heads * 3 * Dim * sizeof(float), cache.Bytes);
        for (var g = 0; g < Heads; g++)
        {
            for (var j = 0; j < 3; j++)
            {
                Assert.Equal(keep[g][j], cache.Tokens[g][j].Position);
                for (var d = 0; d < Dim; d++)
                {
                    Assert.Equal(KeyValue(g, keep[g][j], d, isValue: false), cache.Keys[g, j, d].item<float>());
                    Assert.Equal(KeyValue(g, keep[g][j], d, isValue: true), cache.Values[g, j, d].item<float>());
                }
            }
        }
    }

    [Fact]
    public void Gather_refuses_a_selection_of_the_wrong_shape_or_range()
    {
        using var cache = new LayerKvCache(Heads, Dim, torch.CPU, torch.ScalarType.Float32);
        AppendTokens(cache, 0, 4);
        using var wrongHeads = torch.zeros([3, 2], torch.ScalarType.Int64);
        using var outOfRange = torch.tensor(new long[] { 0, 4, 0, 1 }, [2, 2], torch.ScalarType.Int64);
        using var floats = torch.zeros([2, 2], torch.ScalarType.Float32);

        Assert.Contains("[G=2, K]", Assert.Throws<ArgumentException>(() => cache.Gather(wrongHeads)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Gather(outOfRange));
        Assert.Contains("int64", Assert.Throws<ArgumentException>(() => cache.Gather(floats)).Message, StringComparison.Ordinal);
        Assert.Equal(4, cache.Count);
    }

    [Fact]
    public void Append_refuses_mismatched_shapes_and_bookkeeping()
    {
        using var cache = new LayerKvCache(Heads, Dim, torch.CPU, torch.ScalarType.Float32);
        using var keys = torch.zeros([Heads, 2, Dim]);
        using var badKeys = torch.zeros([Heads + 1, 2, Dim]);
        Assert.Throws<ArgumentException>(() => cache.Append(badKeys, keys, [TokenInfo.Text(0), TokenInfo.Text(1)]));
        Assert.Throws<ArgumentException>(() => cache.Append(keys, keys, [TokenInfo.Text(0)]));
    }

    [Fact]
    public void Export_and_restore_round_trip_keys_values_bookkeeping_and_seen_count()
    {
        using var cache = new KvCache(2, Heads, Dim, torch.CPU, torch.ScalarType.Float32);
        foreach (var layer in cache.Layers)
        {
            AppendTokens(layer, 0, 5);
        }

        using (var indices = torch.tensor(new long[] { 1, 4, 0, 2 }, [Heads, 2], torch.ScalarType.Int64))
        {
            cache[1].Gather(indices);
        }

        var snapshots = cache.Export();
        using var restored = KvCache.Restore(snapshots, torch.CPU, torch.ScalarType.Float32);
        foreach (var s in snapshots)
        {
            s.Dispose();
        }

        Assert.Equal(cache.Bytes, restored.Bytes);
        Assert.Equal(5, restored.SeenTokens);
        for (var l = 0; l < 2; l++)
        {
            Assert.Equal(cache[l].Keys.data<float>().ToArray(), restored[l].Keys.data<float>().ToArray());
            Assert.Equal(cache[l].Values.data<float>().ToArray(), restored[l].Values.data<float>().ToArray());
            Assert.Equal(cache[l].SeenTokens, restored[l].SeenTokens);
            for (var g = 0; g < Heads; g++)
            {
                Assert.Equal(cache[l].Tokens[g], restored[l].Tokens[g]);
            }
        }

        Assert.Equal(4, restored[1].Tokens[0][1].Position);
    }

    [Fact]
    public void Restore_refuses_bookkeeping_that_does_not_match_the_tensors()
    {
        using var keys = torch.zeros([Heads, 2, Dim]);
        using var values = torch.zeros([Heads, 2, Dim]);
        IReadOnlyList<IReadOnlyList<TokenInfo>> tokens = [[TokenInfo.Text(0)], [TokenInfo.Text(0)]];
        var snapshot = new LayerKvSnapshot(keys, values, tokens, 2);
        var error = Assert.Throws<ArgumentException>(() => KvCache.Restore([snapshot], torch.CPU, torch.ScalarType.Float32));
        Assert.Contains("Layer 0", error.Message, StringComparison.Ordinal);
    }

    private static float KeyValue(long head, long token, long dim, bool isValue) => (isValue ? 1000 : 0) + (head * 100) + (token * 10) + dim;

    private static void AppendTokens(LayerKvCache cache, long first, int count)
    {
        var k = new float[Heads * count * Dim];
        var v = new float[k.Length];
        for (var g = 0; g < Heads; g++)
        {
            for (var t = 0; t < count; t++)
            {
                for (var d = 0; d < Dim; d++)
                {
                    var i = (((g * count) + t) * Dim) + d;
                    k[i] = KeyValue(g, first + t, d, isValue: false);
                    v[i] = KeyValue(g, first + t, d, isValue: true);
                }
            }
        }

        using var keys = torch.tensor(k, [Heads, count, Dim]); // [G, T, D]
        using var values = torch.tensor(v, [Heads, count, Dim]); // [G, T, D]
        cache.Append(keys, values, Enumerable.Range(0, count).Select(i => TokenInfo.Text(first + i)).ToArray());
    }
}
