using System.Diagnostics;
using System.Globalization;
using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.Cache;
using StarKv.GpuWorker.Model.Batching;
using StarKv.GpuWorker.Model.Positions;
using TorchSharp;

namespace StarKv.Batching.Bench;

/// <summary>The batched decode alone: milliseconds of one <see cref="Qwen25VlModel.DecodeBatch"/> of B rows over caches of 200 entries.</summary>
public static class DecodeProbe
{
    public static void Run(Qwen25VlModel model, IReadOnlyList<int> batchSizes)
    {
        using var noGrad = torch.no_grad();
        using var template = model.NewCache();
        var ids = Enumerable.Range(0, 200).Select(t => 3 + (t % 50)).ToList();
        using (var positions = MropePositions.ForTurn(ids, model.Config.Tokens.ImageTokenId, [], 2, 0))
        {
            using var logits = model.Prefill(ids, null, positions, MropePositions.Bookkeeping(ids, model.Config.Tokens.ImageTokenId, [], 2, 0, 0), template);
        }

        foreach (var rows in batchSizes)
        {
            var caches = Enumerable.Range(0, rows).Select(_ => KvCache.Restore(template.Export(), model.Device, model.DType)).ToArray();
            try
            {
                var times = new List<double>();
                for (var i = 0; i < 8; i++)
                {
                    var watch = Stopwatch.StartNew();
                    using var logits = model.DecodeBatch(caches.Select(c => new DecodeRow(5, c.SeenTokens, c)).ToArray());
                    times.Add(watch.Elapsed.TotalMilliseconds);
                }

                var median = times.Order().ElementAt(times.Count / 2);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"decode batch of {rows,2}: {median,7:F1} ms ({median / rows:F1} ms a row)"));
            }
            finally
            {
                foreach (var cache in caches)
                {
                    cache.Dispose();
                }
            }
        }
    }
}
