using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using StarKv.Batching.Bench;
using StarKv.Bench;
using StarKv.GpuWorker.Runtime;
using StarKv.GpuWorker.Runtime.Scheduling;
using StarKv.GpuWorker.Sessions;
using StarKv.GpuWorker.SyntheticScreens;
using TorchSharp;

// Concurrent sessions stepping at once on one runtime, continuous batching against the serial mode in the same process:
//   dotnet run -c Release --project bench/Batching.Bench -- [--sessions 1,4,16,32] [--steps 2] [--new-tokens 24]
//       [--budgets 0.2,1] [--max-tokens 2048] [--threads N] [--out bench/results] [--name batching] [--decode-probe]
var options = BenchArguments.Parse(args);
if (options.Threads > 0)
{
    torch.set_num_threads(options.Threads);
}

var scratch = Path.Combine(Path.GetTempPath(), "starkv-batching-" + Guid.NewGuid().ToString("N"));
try
{
    var folder = BenchModel.Write(Path.Combine(scratch, "model"));
    var most = options.Sessions.Max();
    using var serial = Qwen25VlRuntime.LoadFolder(folder, "bench", torch.CPU, torch.ScalarType.Float32, scheduling: StepSchedulerOptions.Serial);
    using var batched = Qwen25VlRuntime.LoadFolder(
        folder, "bench", torch.CPU, torch.ScalarType.Float32, scheduling: new StepSchedulerOptions { MaxBatchSize = most, MaxTokensPerIteration = options.MaxTokens });
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"model: {BenchModel.TextParameters() / 1e6:F0}M text parameters (fp32), torch threads {torch.get_num_threads()}, {Environment.ProcessorCount} CPUs"));
    if (options.DecodeProbe)
    {
        DecodeProbe.Run(serial.Model, options.Sessions);
        return 0;
    }

    var screens = Enumerable.Range(0, options.Steps + 1).Select(s => SyntheticScreenRenderer.RenderPng(7, 224, 224, s)).ToArray();
    var rows = new List<BatchingRow>();
    foreach (var budget in options.Budgets)
    {
        var sessionOptions = new SessionOptions
        {
            Method = budget < 1 ? "starkv" : "full",
            BudgetRatio = budget,
            MaxNewTokens = options.NewTokens,
            Task = "Book a table for two at eight.",
        };

        // Each session's first step (the system prompt and task) once, in the serial runtime; every run restores them.
        var warm = Stopwatch.StartNew();
        var saved = new byte[most][];
        for (var i = 0; i < most; i++)
        {
            using var session = serial.CreateSession(sessionOptions);
            session.Step(screens[0], "Open the booking page.", CancellationToken.None);
            saved[i] = session.Save();
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"budget {budget:P0}: {most} sessions took their first step in {warm.Elapsed.TotalSeconds:F0} s"));
        foreach (var count in options.Sessions)
        {
            foreach (var runtime in new[] { serial, batched })
            {
                var row = Measure(runtime, saved.Take(count).ToArray(), screens, budget, options.Steps);
                rows.Add(row);
                Console.WriteLine(row.Line());
            }
        }
    }

    Directory.CreateDirectory(options.Out);
    File.WriteAllText(Path.Combine(options.Out, options.Name + ".json"), JsonSerializer.Serialize(rows, BatchingReport.Json));
    File.WriteAllText(Path.Combine(options.Out, options.Name + ".md"), BatchingReport.Markdown(rows, options));
    Console.WriteLine($"Wrote {options.Name}.json and {options.Name}.md to {options.Out}.");
    return 0;
}
finally
{
    try
    {
        Directory.Delete(scratch, recursive: true);
    }
    catch (IOException)
    {
    }
}

static BatchingRow Measure(Qwen25VlRuntime runtime, byte[][] saved, byte[][] screens, double budget, int steps)
{
    var sessions = saved.Select(bytes => runtime.RestoreSession(bytes)).ToArray();
    try
    {
        ResidentMemory.ReturnFreeMemory();
        ResidentMemory.ResetPeak();
        var before = ResidentMemory.Current;
        var (iterations, decodedRows) = (runtime.Scheduler?.Iterations ?? 0, runtime.Scheduler?.DecodedRows ?? 0);
        var (passTime, beginTime) = (runtime.Scheduler?.PassTime ?? TimeSpan.Zero, runtime.Scheduler?.BeginTime ?? TimeSpan.Zero);
        var latencies = new double[sessions.Length][];
        var decoded = new long[sessions.Length];
        var wall = Stopwatch.StartNew();
        // One thread per session, as many grains each waiting for their step (not the thread pool, which grows slowly).
        var threads = sessions.Select((session, i) => new Thread(() =>
        {
            latencies[i] = new double[steps];
            for (var s = 0; s < steps; s++)
            {
                var watch = Stopwatch.StartNew();
                var outcome = session.Step(screens[s + 1], $"Step {s + 1}: fill in the next field.", CancellationToken.None);
                latencies[i][s] = watch.Elapsed.TotalMilliseconds;
                decoded[i] += outcome.Figures.TokensDecoded;
            }
        })).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }

        foreach (var thread in threads)
        {
            thread.Join();
        }

        var seconds = wall.Elapsed.TotalSeconds;
        var sorted = latencies.SelectMany(l => l).Order().ToArray();
        var batchIterations = (runtime.Scheduler?.Iterations ?? 0) - iterations;
        var rows = (runtime.Scheduler?.DecodedRows ?? 0) - decodedRows;
        if (runtime.Scheduler is { } scheduler)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  scheduler: {batchIterations} iterations, forward passes {(scheduler.PassTime - passTime).TotalSeconds:F1} s, prefill beginnings {(scheduler.BeginTime - beginTime).TotalSeconds:F1} s of {seconds:F1} s"));
        }

        return new BatchingRow(
            budget,
            sessions.Length,
            runtime.Scheduling.IsSerial ? "serial" : "batched",
            sorted.Length,
            seconds,
            sorted.Length / seconds,
            decoded.Sum() / seconds,
            Percentile(sorted, 0.50),
            Percentile(sorted, 0.99),
            ResidentMemory.Peak - before,
            batchIterations == 0 ? 1 : (double)rows / batchIterations);
    }
    finally
    {
        foreach (var session in sessions)
        {
            session.Dispose();
        }
    }
}

static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
