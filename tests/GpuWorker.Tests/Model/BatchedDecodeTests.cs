using StarKv.GpuWorker.Cache;
using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.Model.Batching;
using StarKv.GpuWorker.Model.Positions;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.Model;

/// <summary>
/// <see cref="Qwen25VlModel.DecodeBatch"/> against one <see cref="Qwen25VlModel.DecodeStep"/> per session: rows of
/// different lengths, each KV head keeping its own entries, rows joining and leaving between batches.
/// </summary>
public sealed class BatchedDecodeTests : IDisposable
{
    private readonly Dictionary<string, torch.Tensor> _weights;
    private readonly Qwen25VlModel _model;

    public BatchedDecodeTests()
    {
        var config = TinyQwen.Config();
        _weights = TinyQwen.Weights(config);
        _model = Qwen25VlModel.Load(config, _weights, torch.CPU, torch.ScalarType.Float32);
    }

    public void Dispose()
    {
        _model.Dispose();
        TinyQwen.Dispose(_weights);
    }

    public static TheoryData<string> Layouts => new() { nameof(PerSessionAttention), nameof(PaddedAttention) };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void A_batch_gives_each_row_the_logits_and_cache_of_its_own_decode(string layout)
    {
        IBatchedAttention attention = layout == nameof(PaddedAttention) ? PaddedAttention.Instance : PerSessionAttention.Instance;
        int[] lengths = [5, 17, 40, 9];
        int?[] kept = [null, 8, 12, null]; // per-head selections of different entries for two of the rows
        var serial = lengths.Select((n, i) => Session(n, kept[i], seed: i)).ToArray();
        var batched = lengths.Select((n, i) => Session(n, kept[i], seed: i)).ToArray();
        try
        {
            // Round by round: all rows, then rows 1 and 3 only (0 and 2 left), then all again (they rejoin), then row 2 alone.
            int[][] rounds = [[0, 1, 2, 3], [1, 3], [3, 1, 0, 2], [2]];
            var tokens = new[] { 7, 30, 77, 101 };
            foreach (var round in rounds)
            {
                using var batch = _model.DecodeBatch(round.Select(i => new DecodeRow(tokens[i], serial[i].Position, batched[i].Cache)).ToArray(), attention); // [B, vocab]
                Assert.Equal([round.Length, TinyQwen.Config().Text.VocabSize], batch.shape);
                for (var b = 0; b < round.Length; b++)
                {
                    var i = round[b];
                    using var expected = _model.DecodeStep(tokens[i], serial[i].Position, serial[i].Cache); // [vocab]
                    using var actual = batch[b]; // [vocab]
                    AssertClose(expected, actual, $"row {b} (session {i}) of round [{string.Join(", ", round)}]");
                    serial[i].Position++;
                    tokens[i] = (int)expected.argmax().item<long>() == TinyQwen.ImageToken ? 5 : (int)expected.argmax().item<long>();
                }

                for (var i = 0; i < lengths.Length; i++)
                {
                    AssertSameCache(serial[i].Cache, batched[i].Cache);
                }
            }
        }
        finally
        {
            foreach (var session in serial.Concat(batched))
            {
                session.Cache.Dispose();
            }
        }
    }

    [Fact]
    public void A_batch_refuses_two_rows_of_one_cache()
    {
        using var cache = _model.NewCache();
        var error = Assert.Throws<ArgumentException>(() => _model.DecodeBatch([new DecodeRow(1, 0, cache), new DecodeRow(2, 0, cache)]));
        Assert.Contains("share a cache", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => _model.DecodeBatch([]));
    }

    /// <summary>Logits within 1e-4 of the largest magnitude.</summary>
    private static void AssertClose(torch.Tensor expected, torch.Tensor actual, string what)
    {
        var scale = expected.abs().max().item<float>();
        var worst = (expected - actual).abs().max().item<float>();
        Assert.True(worst <= 1e-4 * scale, $"{what}: logits differ by {worst} (scale {scale}).");
    }

    private static void AssertSameCache(KvCache expected, KvCache actual)
    {
        Assert.Equal(expected.SeenTokens, actual.SeenTokens);
        for (var l = 0; l < expected.LayerCount; l++)
        {
            Assert.Equal(expected[l].Count, actual[l].Count);
            Assert.True(expected[l].Keys.allclose(actual[l].Keys, rtol: 1e-4, atol: 1e-5), $"layer {l} keys");
            Assert.True(expected[l].Values.allclose(actual[l].Values, rtol: 1e-4, atol: 1e-5), $"layer {l} values");
            Assert.Equal(expected[l].Tokens.Select(h => h.ToArray()), actual[l].Tokens.Select(h => h.ToArray()));
        }
    }

    /// <summary>A text prefill of <paramref name="length"/> seeded tokens, then (optionally) each KV head keeping its own <paramref name="kept"/> entries.</summary>
    private Row Session(int length, int? kept, int seed)
    {
        var random = new Random(seed);
        var ids = Enumerable.Range(0, length).Select(_ => random.Next(0, 120)).ToList();
        var cache = _model.NewCache();
        using (var positions = MropePositions.ForTurn(ids, TinyQwen.ImageToken, [], 2, 0))
        {
            var bookkeeping = MropePositions.Bookkeeping(ids, TinyQwen.ImageToken, [], 2, 0, 0);
            cache.ReserveMore(length + 8);
            using var logits = _model.Prefill(ids, null, positions, bookkeeping, cache);
        }

        if (kept is { } k)
        {
            for (var l = 0; l < cache.LayerCount; l++)
            {
                var heads = cache[l].KvHeads;
                var picks = new long[heads * k];
                for (var g = 0; g < heads; g++)
                {
                    var chosen = Enumerable.Range(0, length).OrderBy(_ => random.Next()).Take(k).Order().Select(i => (long)i).ToArray();
                    Array.Copy(chosen, 0, picks, g * k, k);
                }

                using var indices = torch.tensor(picks, [heads, k]); // [G, K]
                cache[l].Gather(indices);
            }
        }

        return new Row(cache) { Position = length };
    }

    private sealed class Row(KvCache cache)
    {
        public KvCache Cache { get; } = cache;

        public long Position { get; set; }
    }
}
