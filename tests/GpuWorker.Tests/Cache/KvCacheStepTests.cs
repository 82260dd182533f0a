using StarKv.Compression.Api;
using StarKv.GpuWorker.Cache;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.Cache;

/// <summary>The cache's storage with capacity, its steps (rollback without a copy) and its checkpoint deltas.</summary>
public sealed class KvCacheStepTests
{
    private const int Heads = 3;
    private const int Dim = 4;

    [Fact]
    public void Appends_within_a_reservation_write_in_place_and_bytes_count_the_storage_held()
    {
        using var cache = NewLayer();
        cache.Reserve(10);
        var storage = cache.KeyStorage;
        Append(cache, 0, 4);
        for (var t = 4; t < 10; t++)
        {
            Append(cache, t, 1); // decode-like appends
        }

        Assert.Same(storage, cache.KeyStorage);
        Assert.Equal(10, cache.Count);
        Assert.Equal(10, cache.Capacity);
        Assert.Equal(2L * Heads * 10 * Dim * sizeof(float), cache.Bytes);
        Assert.Equal(cache.Bytes, cache.StoredBytes);
        AssertEntries(cache, Enumerable.Range(0, Heads).Select(_ => Enumerable.Range(0, 10).Select(i => (long)i).ToArray()).ToArray());
    }

    [Fact]
    public void An_unreserved_append_grows_by_half_so_single_token_appends_rarely_copy()
    {
        using var cache = NewLayer();
        Append(cache, 0, 8);
        Assert.Equal(8, cache.Capacity);
        var reallocations = 0;
        var storage = cache.KeyStorage;
        for (var t = 8; t < 200; t++)
        {
            Append(cache, t, 1);
            if (!ReferenceEquals(cache.KeyStorage, storage))
            {
                reallocations++;
                storage = cache.KeyStorage;
            }
        }

        // 8 → 12 → 18 → 27 → 40 → 60 → 90 → 135 → 202: eight copies for 192 appends.
        Assert.Equal(8, reallocations);
        Assert.Equal(202, cache.Capacity);
        Assert.Equal(200L * 2 * Heads * Dim * sizeof(float), cache.StoredBytes);
        Assert.Equal(202L * 2 * Heads * Dim * sizeof(float), cache.Bytes);
        AssertEntries(cache, Enumerable.Range(0, Heads).Select(_ => Enumerable.Range(0, 200).Select(i => (long)i).ToArray()).ToArray());
    }

    [Fact]
    public void A_gather_makes_compact_storage_with_the_reserved_headroom()
    {
        using var cache = NewLayer();
        Append(cache, 0, 6);
        cache.Reserve(6 + 4); // a step: room for 4 more tokens after the compression
        using (var keep = Selection([[0, 2, 5], [1, 3, 4], [0, 1, 2]]))
        {
            cache.Gather(keep);
        }

        Assert.Equal(3, cache.Count);
        Assert.Equal(3 + 4, cache.Capacity);
        var storage = cache.KeyStorage;
        Append(cache, 6, 1);
        Append(cache, 7, 1);
        Assert.Same(storage, cache.KeyStorage);
        AssertEntries(cache, [[0, 2, 5, 6, 7], [1, 3, 4, 6, 7], [0, 1, 2, 6, 7]]);
    }

    [Fact]
    public void Rollback_after_appends_a_gather_and_a_regrowth_leaves_the_layer_bit_identical()
    {
        using var cache = NewLayer();
        Append(cache, 0, 5);
        using (var first = Selection([[0, 1, 4], [0, 2, 3], [1, 2, 4]]))
        {
            cache.Gather(first);
        }

        var before = Snapshot(cache);
        cache.BeginStep();
        cache.Reserve(cache.Count + 4);
        Append(cache, 5, 4); // the turn
        using (var keep = Selection([[0, 3, 5, 6], [1, 2, 4, 6], [0, 4, 5, 6]]))
        {
            cache.Gather(keep);
        }

        for (var t = 9; t < 20; t++)
        {
            Append(cache, t, 1); // beyond the reservation: the compact storage grows
        }

        Assert.Equal(4 + 11, cache.Count);
        cache.Rollback();

        var after = Snapshot(cache);
        Assert.Equal(before.Keys, after.Keys);
        Assert.Equal(before.Values, after.Values);
        Assert.Equal(before.Tokens, after.Tokens);
        Assert.Equal(5, cache.SeenTokens);
        Assert.Equal(3, cache.Count);
        Assert.False(cache.InStep);

        // The layer takes the same step again as if the failed one never happened.
        cache.BeginStep();
        Append(cache, 5, 2);
        cache.Commit();
        AssertEntries(cache, [[0, 1, 4, 5, 6], [0, 2, 3, 5, 6], [1, 2, 4, 5, 6]]);
    }

    [Fact]
    public void Rollback_without_a_gather_keeps_the_committed_entries_whatever_the_appends_wrote()
    {
        using var cache = NewLayer();
        Append(cache, 0, 3);
        var before = Snapshot(cache);
        cache.BeginStep();
        for (var t = 3; t < 40; t++)
        {
            Append(cache, t, 1);
        }

        cache.Rollback();
        var after = Snapshot(cache);
        Assert.Equal(before.Keys, after.Keys);
        Assert.Equal(before.Values, after.Values);
        Assert.Equal(before.Tokens, after.Tokens);
        Assert.Equal(3, cache.SeenTokens);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_captured_step_applied_on_the_previous_state_rebuilds_the_layer_exactly(bool compress)
    {
        using var live = NewLayer();
        Append(live, 0, 6);
        using (var first = Selection([[0, 2, 4, 5], [1, 2, 3, 5], [0, 1, 4, 5]]))
        {
            live.Gather(first);
        }

        using var baseState = live.CaptureFull();
        using var copy = LayerKvCache.Restore(baseState, torch.CPU, torch.ScalarType.Float32);

        live.BeginStep();
        live.Reserve(live.Count + 5 + 3);
        Append(live, 6, 5);
        if (compress)
        {
            // Per-head selection: head 0 keeps three committed entries, head 1 one, head 2 none.
            using var keep = Selection([[0, 1, 3, 4, 8], [2, 4, 5, 7, 8], [4, 5, 6, 7, 8]]);
            live.Gather(keep);
        }

        Append(live, 11, 1);
        Append(live, 12, 1);
        live.Commit();

        using var delta = live.CaptureStep();
        Assert.NotNull(delta);
        if (compress)
        {
            Assert.Equal([3, 1, 0], delta.KeptOld!.Select(k => k.Count));
        }
        else
        {
            Assert.Null(delta.KeptOld);
        }

        Assert.Equal(compress ? [4L, 6, 7] : [7L, 7, 7], delta.NewKeys.Select(k => k.shape[0]));
        copy.Apply(delta);

        var expected = Snapshot(live);
        var actual = Snapshot(copy);
        Assert.Equal(expected.Keys, actual.Keys);
        Assert.Equal(expected.Values, actual.Values);
        Assert.Equal(expected.Tokens, actual.Tokens);
        Assert.Equal(live.SeenTokens, copy.SeenTokens);
        Assert.Equal(13, copy.SeenTokens);
    }

    [Fact]
    public void A_delta_is_refused_on_a_layer_that_does_not_hold_its_base()
    {
        using var live = NewLayer();
        Append(live, 0, 4);
        live.BeginStep();
        Append(live, 4, 2);
        live.Commit();
        using var delta = live.CaptureStep()!;
        using var other = NewLayer();
        Append(other, 0, 3);

        var error = Assert.Throws<ArgumentException>(() => other.Apply(delta));
        Assert.Contains("continues a layer of 4 entries; this layer holds 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void No_delta_describes_a_step_that_gathered_twice_or_was_rolled_back_without_a_commit()
    {
        using var cache = NewLayer();
        Append(cache, 0, 6);
        cache.BeginStep();
        using (var a = Selection([[0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 2, 3]]))
        {
            cache.Gather(a);
        }

        using (var b = Selection([[0, 1], [2, 3], [1, 3]]))
        {
            cache.Gather(b);
        }

        cache.Commit();
        Assert.Null(cache.CaptureStep());

        cache.BeginStep();
        Append(cache, 6, 1);
        cache.Commit();
        cache.BeginStep();
        Append(cache, 7, 1);
        cache.Rollback();
        using var remembered = cache.CaptureStep(); // the rollback brings back the last committed step's change
        Assert.NotNull(remembered);
        Assert.Equal(2, remembered.BaseCount);
    }

    [Fact]
    public void Captured_views_keep_their_entries_while_the_cache_appends_gathers_and_rolls_back()
    {
        using var cache = NewLayer();
        cache.Reserve(40); // later appends write into the same storage, after the captured entries
        Append(cache, 0, 5);
        using var captured = cache.CaptureFull();
        var expectedKeys = captured.Keys.clone().data<float>().ToArray();

        cache.BeginStep();
        Append(cache, 5, 3);
        using (var keep = Selection([[0, 6, 7], [1, 2, 7], [3, 4, 7]]))
        {
            cache.Gather(keep);
        }

        Append(cache, 8, 1);
        cache.Rollback();
        cache.BeginStep();
        Append(cache, 5, 30);
        cache.Commit();

        Assert.Equal(expectedKeys, captured.Keys.contiguous().data<float>().ToArray());
    }

    [Fact]
    public void Gradients_flow_through_in_place_appends_as_through_a_concatenation()
    {
        using var scope = torch.NewDisposeScope();
        var prefix = torch.randn([Heads, 3, Dim], generator: new torch.Generator(5)).requires_grad_(true); // [G, P, D] leaf
        var weight = torch.randn([Heads, 2, Dim], generator: new torch.Generator(6)).requires_grad_(true); // [G, T, D] leaf
        var query = torch.randn([Heads, 1, Dim], generator: new torch.Generator(7)); // [G, 1, D]

        using var cache = NewLayer();
        cache.Append(prefix, prefix.mul(2), Tokens(0, 3));
        cache.Append(weight.tanh(), weight, Tokens(3, 2));
        var loss = Loss(query, cache.Keys, cache.Values);
        loss.backward();
        var prefixGrad = prefix.grad!.clone();
        var weightGrad = weight.grad!.clone();
        prefix.grad!.zero_();
        weight.grad!.zero_();

        var keys = torch.cat([prefix, weight.tanh()], 1); // [G, 5, D]
        var values = torch.cat([prefix.mul(2), weight], 1); // [G, 5, D]
        Loss(query, keys, values).backward();
        Assert.True(prefixGrad.allclose(prefix.grad!, 1e-6, 1e-6));
        Assert.True(weightGrad.allclose(weight.grad!, 1e-6, 1e-6));

        static torch.Tensor Loss(torch.Tensor q, torch.Tensor k, torch.Tensor v) =>
            torch.bmm(torch.bmm(q, k.transpose(1, 2)).softmax(-1), v).square().sum();
    }

    private static LayerKvCache NewLayer() => new(Heads, Dim, torch.CPU, torch.ScalarType.Float32);

    private static float KeyValue(long head, long token, long dim, bool isValue) => (isValue ? 1000 : 0) + (head * 100) + (token * 10) + dim;

    private static TokenInfo[] Tokens(long first, int count) => Enumerable.Range(0, count).Select(i => TokenInfo.Text(first + i)).ToArray();

    private static void Append(LayerKvCache cache, long first, int count)
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
        cache.Append(keys, values, Tokens(first, count));
    }

    private static torch.Tensor Selection(long[][] rows) =>
        torch.tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length], torch.ScalarType.Int64); // [G, K]

    /// <summary>Checks every entry of every head against the token it should hold (values are a function of head and token).</summary>
    private static void AssertEntries(LayerKvCache cache, long[][] tokens)
    {
        Assert.Equal(tokens[0].Length, cache.Count);
        var keys = cache.Keys.contiguous().data<float>().ToArray();
        var values = cache.Values.contiguous().data<float>().ToArray();
        for (var g = 0; g < Heads; g++)
        {
            Assert.Equal(tokens[g], cache.Tokens[g].Select(t => t.Position));
            for (var j = 0; j < tokens[g].Length; j++)
            {
                for (var d = 0; d < Dim; d++)
                {
                    var i = (((g * tokens[g].Length) + j) * Dim) + d;
                    Assert.Equal(KeyValue(g, tokens[g][j], d, isValue: false), keys[i]);
                    Assert.Equal(KeyValue(g, tokens[g][j], d, isValue: true), values[i]);
                }
            }
        }
    }

    private static (float[] Keys, float[] Values, TokenInfo[][] Tokens) Snapshot(LayerKvCache cache) =>
        (cache.Keys.contiguous().data<float>().ToArray(), cache.Values.contiguous().data<float>().ToArray(), cache.Tokens.Select(t => t.ToArray()).ToArray());
}
