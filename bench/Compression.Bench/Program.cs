using System.Diagnostics;
using System.Globalization;
using StarKv.Compression;
using StarKv.Compression.Api;
using StarKv.Compression.Bench;
using StarKv.Compression.Scoring;
using StarKv.GpuWorker.Model.Text;
using TorchSharp;

// Usage: dotnet run -c Release --project bench/Compression.Bench -- [--reps N] [--out DIR] [--h2o-layers N] [--threads N]
var reps = 3;
var sampledLayers = 4;
var output = Path.Combine("bench", "results");
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--reps":
            reps = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--out":
            output = args[++i];
            break;
        case "--h2o-layers":
            sampledLayers = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--threads":
            torch.set_num_threads(int.Parse(args[++i], CultureInfo.InvariantCulture));
            break;
        default:
            Console.Error.WriteLine($"Unknown argument '{args[i]}'. Usage: Compression.Bench [--reps N] [--out DIR] [--h2o-layers N] [--threads N]");
            return 2;
    }
}

using var noGrad = torch.no_grad();
var budgets = new[] { 0.1, 0.2, 0.4 };
using var trajectory = new SyntheticTrajectory(seed: 2026);
Console.WriteLine($"Synthetic trajectory: {trajectory.Length} tokens, {SyntheticTrajectory.Layers} layers.");

// The denominator: the model's own decoder layer (GpuWorker's DecoderLayer, fused attention) prefilling the last step's
// tokens over the cached history; and the same with the explicit attention that sums each entry's attention for H2O.
// The two are alternated and each one's fastest of two runs kept, so a burst of load on a shared machine hits both alike.
double prefillMs = double.MaxValue, prefillWithSumsMs = double.MaxValue;
using (var prefill = new DecoderLayerPrefill())
{
    for (var r = 0; r < 2; r++)
    {
        prefillMs = Math.Min(prefillMs, prefill.Run(trajectory.Keys(0), trajectory.TurnLength, columnSums: false));
        prefillWithSumsMs = Math.Min(prefillWithSumsMs, prefill.Run(trajectory.Keys(0), trajectory.TurnLength, columnSums: true));
    }
}

Console.WriteLine($"Prefill of one layer ({trajectory.TurnLength} new tokens): {prefillMs:F0} ms; with H2O's column sums: {prefillWithSumsMs:F0} ms");

// H2O as it was fed before: recomputing every prefill query's attention over the cache (per KV group), one layer.
double h2oRecomputeMs;
{
    var watch = Stopwatch.StartNew();
    using var recomputed = CumulativeAttention.Scores(trajectory.TurnQueries, trajectory.Keys(0)); // [H, L]
    h2oRecomputeMs = watch.Elapsed.TotalMilliseconds;
}

Console.WriteLine($"H2O recomputing the prefill's attention, one layer: {h2oRecomputeMs:F0} ms");

// The column sums the prefill hands H2O, per timed layer (computed once, outside the timings).
var h2oLayers = Enumerable.Range(0, sampledLayers).Select(k => k * (SyntheticTrajectory.Layers - 1) / Math.Max(1, sampledLayers - 1)).Distinct().ToArray();
var columnSums = new Dictionary<int, torch.Tensor>();
foreach (var l in h2oLayers)
{
    using var keys = trajectory.Keys(l).to(torch.float32); // [G, L, D]
    using var queries = trajectory.TurnQueries.to(torch.float32); // [H, T, D]
    var (attended, sums) = GroupedAttention.AttendTailWithColumnSums(queries, keys, keys);
    attended.Dispose();
    columnSums[l] = sums.DetachFromDisposeScope(); // [G, L]
}

var inPrefillMs = Math.Max(0, prefillWithSumsMs - prefillMs);

var factory = new CompressorFactory();
var fullBytesPerEntry = (long)SyntheticTrajectory.KvHeads * SyntheticTrajectory.HeadDim * 2 /* K and V */ * 2 /* bf16 */;
var fullBytes = (long)trajectory.Length * SyntheticTrajectory.Layers * fullBytesPerEntry;
var rows = new List<MethodRow>();
var comparisons = new List<ModeComparison>();
foreach (var ratio in budgets)
{
    var budget = KvBudget.FromRatio(ratio);
    var kept = new Dictionary<string, long[][]>();
    var turn2 = new Dictionary<string, long[]>();
    foreach (var name in CompressorFactory.Names)
    {
        var compressor = factory.Create(name, new CompressorOptions { Seed = 1 });

        // H2O scores with the column sums the prefill accumulated; its cost on a step is the prefill's extra attention work
        // (measured above, the same for every layer) plus its selection, timed on sampledLayers evenly spread layers.
        var h2o = name == "h2o";
        var sampled = h2o ? h2oLayers : Enumerable.Range(0, SyntheticTrajectory.Layers).ToArray();
        LayerCompressionInput InputOf(int layer, CompressorState state) =>
            h2o ? trajectory.Input(layer, compressor.WindowSize, budget, state) with { PrefillColumnSums = columnSums[layer] }
                : trajectory.Input(layer, compressor.WindowSize, budget, state);

        var times = new List<double>();
        for (var r = 0; r < reps; r++)
        {
            var input = InputOf(0, new CompressorState());
            var watch = Stopwatch.StartNew();
            using var selection = compressor.Compress(input);
            times.Add(watch.Elapsed.TotalMilliseconds + (h2o ? inPrefillMs : 0));
        }

        var state = new CompressorState();
        var layerKeep = new long[sampled.Length];
        var layerRows = new long[SyntheticTrajectory.Layers][];
        var allMs = 0.0;
        for (var k = 0; k < sampled.Length; k++)
        {
            var l = sampled[k];
            var watch = Stopwatch.StartNew();
            using var selection = compressor.Compress(InputOf(l, state));
            allMs += watch.Elapsed.TotalMilliseconds + (h2o ? inPrefillMs : 0);
            layerKeep[k] = selection.KeptPerHead;
            if (name.StartsWith("starkv", StringComparison.Ordinal))
            {
                layerRows[l] = selection.Indices[0].data<long>().ToArray();
            }
        }

        allMs *= (double)SyntheticTrajectory.Layers / sampled.Length;
        if (name.StartsWith("starkv", StringComparison.Ordinal))
        {
            kept[name] = layerRows;
            var second = new long[SyntheticTrajectory.Layers];
            for (var l = 0; l < SyntheticTrajectory.Layers; l++)
            {
                using var selection = compressor.Compress(trajectory.Input(l, compressor.WindowSize, budget, state));
                second[l] = selection.KeptPerHead;
            }

            turn2[name] = second;
        }

        times.Sort();
        var oneMs = times[times.Count / 2];
        var keptEntries = layerKeep.Sum() * SyntheticTrajectory.Layers / sampled.Length;
        var keptBytes = keptEntries * fullBytesPerEntry;
        var row = new MethodRow(
            name, ratio, compressor.WindowSize, oneMs, h2o ? inPrefillMs : 0, allMs, sampled.Length, oneMs / prefillMs, keptEntries, keptBytes, fullBytes,
            (double)keptBytes / fullBytes, layerKeep.Min(), layerKeep.Max());
        rows.Add(row);
        Console.WriteLine($"{name,-16} {ratio,5:P0}  1 layer {oneMs,9:F1} ms  all {allMs,9:F0} ms  kept {row.KeptFraction,7:P2}");
    }

    var jaccard = Enumerable.Range(0, SyntheticTrajectory.Layers).Average(l =>
    {
        var a = kept["starkv"][l].ToHashSet();
        var b = kept["starkv-faithful"][l];
        var both = b.Count(a.Contains);
        return (double)both / (a.Count + b.Length - both);
    });
    comparisons.Add(new ModeComparison(
        ratio, jaccard, turn2["starkv"].Min(), turn2["starkv"].Max(),
        (double)turn2["starkv"].Sum() * fullBytesPerEntry / fullBytes,
        (double)turn2["starkv-faithful"].Sum() * fullBytesPerEntry / fullBytes));
}

var within = rows.Where(r => r.Budget == 0.2 && r.Method != "full").All(r => r.KeptFraction <= 0.21);
var report = new BenchReport(
    $"{Environment.ProcessorCount} CPU cores, TorchSharp CPU, {torch.get_num_threads()} torch threads",
    $"UI-TARS-1.5-7B: {SyntheticTrajectory.Layers} layers, {SyntheticTrajectory.Heads} query heads, {SyntheticTrajectory.KvHeads} KV heads, head dim {SyntheticTrajectory.HeadDim}; "
        + $"{SyntheticTrajectory.Screenshots} screenshots of {SyntheticTrajectory.GridRows}×{SyntheticTrajectory.GridCols} = {SyntheticTrajectory.GridRows * SyntheticTrajectory.GridCols} tokens plus text, {trajectory.Length} tokens; "
        + $"the last step prefilled {trajectory.TurnLength} tokens; keys bf16",
    reps,
    prefillMs,
    prefillWithSumsMs,
    h2oRecomputeMs,
    rows,
    comparisons,
    within);
foreach (var sums in columnSums.Values)
{
    sums.Dispose();
}

BenchResults.Write(report, output);
Console.WriteLine($"Wrote {Path.Combine(output, "compression.json")} and compression.md; kept ≤ 21% at 20%: {within}");
return within ? 0 : 1;
