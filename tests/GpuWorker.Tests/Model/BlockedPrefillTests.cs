using StarKv.Compression.Api;
using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.Model.Positions;
using StarKv.GpuWorker.Model.Text;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.Model;

/// <summary>
/// The prefill attends long turns in query blocks: the result must not depend on the block size (values and gradients),
/// and a long turn must cost memory linear in its length.
/// </summary>
public sealed class BlockedPrefillTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(36)]
    [InlineData(37)]
    public void Blocked_attention_equals_unblocked_attention_in_values_and_gradients(int block)
    {
        var rng = new Random(block);
        using var scope = torch.NewDisposeScope();
        var queries = TinyQwen.Random(rng, 1.0, 4, 37, 8).requires_grad_(); // [H, T, D]
        var keys = TinyQwen.Random(rng, 1.0, 2, 50, 8).requires_grad_(); // [G, N, D], 13 retained entries
        var values = TinyQwen.Random(rng, 1.0, 2, 50, 8).requires_grad_();
        var weights = TinyQwen.Random(rng, 1.0, 4, 37, 8);

        var whole = GroupedAttention.AttendTail(queries, keys, values, queryBlock: int.MaxValue);
        (whole * weights).sum().backward();
        var expected = (whole.detach().clone(), queries.grad!.clone(), keys.grad!.clone(), values.grad!.clone());
        queries.grad!.zero_();
        keys.grad!.zero_();
        values.grad!.zero_();

        var blocked = GroupedAttention.AttendTail(queries, keys, values, queryBlock: block);
        (blocked * weights).sum().backward();

        Assert.True(blocked.detach().allclose(expected.Item1, rtol: 1e-5, atol: 1e-6), "attention output");
        Assert.True(queries.grad!.allclose(expected.Item2, rtol: 1e-5, atol: 1e-6), "query gradients");
        Assert.True(keys.grad!.allclose(expected.Item3, rtol: 1e-5, atol: 1e-6), "key gradients");
        Assert.True(values.grad!.allclose(expected.Item4, rtol: 1e-5, atol: 1e-6), "value gradients");
    }

    [Fact]
    public void A_turn_longer_than_a_block_gives_the_logits_of_prefilling_it_in_short_turns()
    {
        var config = TinyQwen.Config();
        var weights = TinyQwen.Weights(config);
        try
        {
            using var model = Qwen25VlModel.Load(config, weights, torch.CPU, torch.ScalarType.Float32);
            var rng = new Random(3);
            var ids = Enumerable.Range(0, (GroupedAttention.DefaultQueryBlock * 2) + 77).Select(_ => rng.Next(0, 120)).ToArray();

            using var once = model.NewCache();
            using var wholePositions = MropePositions.ForText(0, ids.Length);
            using var whole = model.Prefill(ids, null, wholePositions, Bookkeeping(0, ids.Length), once);

            using var inTurns = model.NewCache();
            torch.Tensor? last = null;
            for (var start = 0; start < ids.Length; start += 300)
            {
                var turn = ids.Skip(start).Take(300).ToArray();
                using var positions = MropePositions.ForText(start, turn.Length);
                last?.Dispose();
                last = model.Prefill(turn, null, positions, Bookkeeping(start, turn.Length), inTurns);
            }

            using (last)
            {
                var difference = (whole - last!).abs().max().item<float>();
                Assert.True(difference < 1e-4, $"max abs difference {difference}");
            }

            Assert.Equal(ids.Length, once.SeenTokens);
        }
        finally
        {
            TinyQwen.Dispose(weights);
        }
    }

    [Fact]
    public void A_long_turn_costs_memory_linear_in_its_length()
    {
        // Peak resident memory, reset before the prefill (Linux): unblocked, the scores of a 6,000-token turn alone are
        // r · T × N floats per KV head, 2 × 2 × 6000 × 6000 × 4 bytes = 576 MB on the tiny model; blocked, 49 MB.
        const string ClearRefs = "/proc/self/clear_refs";
        if (!File.Exists(ClearRefs))
        {
            return;
        }

        var config = TinyQwen.Config();
        var weights = TinyQwen.Weights(config);
        try
        {
            using var model = Qwen25VlModel.Load(config, weights, torch.CPU, torch.ScalarType.Float32);
            var ids = Enumerable.Range(0, 6000).Select(i => i % 120).ToArray();
            using var positions = MropePositions.ForText(0, ids.Length);
            var bookkeeping = Bookkeeping(0, ids.Length);
            using var cache = model.NewCache();
            GC.Collect();
            File.WriteAllText(ClearRefs, "5");
            var before = PeakResidentBytes();
            using var logits = model.Prefill(ids, null, positions, bookkeeping, cache);
            var grown = PeakResidentBytes() - before;

            Assert.True(grown < 250L << 20, $"the prefill of 6,000 tokens raised peak memory by {grown >> 20} MiB");
        }
        finally
        {
            TinyQwen.Dispose(weights);
        }
    }

    private static TokenInfo[] Bookkeeping(int start, int count) => [.. Enumerable.Range(start, count).Select(i => TokenInfo.Text(i))];

    private static long PeakResidentBytes()
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }
}
