using StarKv.Compression;
using StarKv.Compression.Api;
using StarKv.GpuWorker.Runtime;
using StarKv.GpuWorker.Runtime.Scheduling;
using StarKv.GpuWorker.Sessions;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.Sessions;

/// <summary>
/// Sessions stepped by the continuous-batching scheduler against the same sessions stepped one at a time (the serial
/// mode): the same greedy tokens, the same figures, and the same caches (the next prefill's logits within 1e-4), whatever
/// shares their batches; cancelling or failing one step leaves the others alone and rolls back its own session only.
/// </summary>
[Collection(TinyRuntimeGroup.Name)]
public sealed class ContinuousBatchingTests(TinyRuntimeFixture fixture) : IDisposable
{
    private const string Task = "Open the settings page and enable dark mode.";

    private readonly Qwen25VlRuntime _serial = fixture.Runtime;
    private readonly Qwen25VlRuntime _batched = Qwen25VlRuntime.LoadBuiltInTiny(fixture.Folder, torch.CPU, scheduling: new StepSchedulerOptions { MaxBatchSize = 8, MaxTokensPerIteration = 1024 });

    public void Dispose() => _batched.Dispose();

    [Fact]
    public void The_serial_mode_has_no_scheduler_and_the_batched_one_validates_its_limits()
    {
        Assert.Null(_serial.Scheduler);
        Assert.True(_serial.Scheduling.IsSerial);
        Assert.NotNull(_batched.Scheduler);
        Assert.Throws<ArgumentException>(() => new StepSchedulerOptions { MaxBatchSize = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new StepSchedulerOptions { MaxTokensPerIteration = 0 }.Validate());
    }

    [Fact]
    public async Task Sessions_of_different_methods_budgets_lengths_and_step_counts_decode_in_one_batch_as_they_would_alone()
    {
        await AssertBatchedAsSerial(_batched);
        Assert.True(_batched.Scheduler!.LargestBatch >= 2, $"the largest batch held {_batched.Scheduler.LargestBatch} rows");
    }

    [Fact]
    public async Task Prefills_split_into_chunks_across_iterations_give_what_one_pass_gives_while_the_others_keep_decoding()
    {
        // 48 tokens an iteration: every turn's prefill runs in several chunks, in the same passes as other sessions'
        // decode tokens; compression (H2O's column sums, STaR-KV's screenshot hidden states) sees the joined turn.
        using var chunking = Qwen25VlRuntime.LoadBuiltInTiny(fixture.Folder, torch.CPU, scheduling: new StepSchedulerOptions { MaxBatchSize = 8, MaxTokensPerIteration = 48 });
        await AssertBatchedAsSerial(chunking);
        var scheduler = chunking.Scheduler!;
        Assert.True(scheduler.PrefillChunks >= 3 * 13, $"{scheduler.PrefillChunks} chunks for 13 prefills longer than the budget");
        Assert.True(scheduler.MixedIterations > 0, "no pass held both decode rows and prefill chunks");
        Assert.True(scheduler.LargestBatch >= 2, $"the largest batch held {scheduler.LargestBatch} rows");
    }

    [Fact]
    public void A_chunked_prefill_shows_the_compressor_the_same_turn_as_one_pass()
    {
        // What every layer's compressor call sees, recorded in the serial runtime and with the prefill in 40-token chunks
        // (a chunk boundary inside the screenshot): the joined turn queries, the accumulated column sums, the screenshot's
        // hidden states and the keys all agree.
        using var chunking = Qwen25VlRuntime.LoadBuiltInTiny(fixture.Folder, torch.CPU, scheduling: new StepSchedulerOptions { MaxBatchSize = 4, MaxTokensPerIteration = 40 });
        var options = new SessionOptions { Method = "starkv", BudgetRatio = 0.3, Task = Task, MaxNewTokens = 4 };
        var factory = new CompressorFactory();
        var serialRecorder = new RecordingCompressor(factory.Create("starkv", new CompressorOptions()));
        var chunkedRecorder = new RecordingCompressor(factory.Create("starkv", new CompressorOptions()));
        using var serialSession = (AgentSession)_serial.CreateSession(options, serialRecorder);
        using var chunkedSession = (AgentSession)chunking.CreateSession(options, chunkedRecorder);
        for (var step = 0; step < 2; step++)
        {
            var expected = serialSession.Step(Screen(step), $"step {step}", CancellationToken.None);
            var actual = chunkedSession.Step(Screen(step), $"step {step}", CancellationToken.None);
            Assert.Equal(expected.Text, actual.Text);
        }

        Assert.True(chunking.Scheduler!.PrefillChunks >= 4, $"{chunking.Scheduler.PrefillChunks} chunks");
        Assert.Equal(serialRecorder.Calls.Count, chunkedRecorder.Calls.Count);
        for (var i = 0; i < serialRecorder.Calls.Count; i++)
        {
            var (e, a) = (serialRecorder.Calls[i], chunkedRecorder.Calls[i]);
            foreach (var (name, x, y) in new[] { ("turn queries", e.TurnQueries, a.TurnQueries), ("column sums", e.ColumnSums, a.ColumnSums), ("screenshot hidden states", e.ScreenshotHidden, a.ScreenshotHidden), ("keys", e.Keys, a.Keys) })
            {
                Assert.Equal(x.Length, y.Length);
                var scale = Math.Max(1e-6, x.Max(Math.Abs));
                var worst = x.Zip(y, (p, q) => Math.Abs(p - q)).DefaultIfEmpty(0).Max();
                Assert.True(worst <= 1e-4 * scale, $"call {i} (layer {e.Layer}): {name} differ by {worst} (scale {scale})");
            }
        }

        foreach (var call in serialRecorder.Calls.Concat(chunkedRecorder.Calls))
        {
            Assert.NotEmpty(call.ScreenshotHidden);
            Assert.NotEmpty(call.ColumnSums);
        }
    }

    [Fact]
    public async Task Cancelling_one_step_removes_it_from_the_batch_rolls_its_session_back_and_leaves_the_others_alone()
    {
        var longOptions = new SessionOptions { Method = "starkv", BudgetRatio = 0.3, Task = Task, MaxNewTokens = 400 };
        var otherOptions = new SessionOptions { Method = "snapkv", BudgetRatio = 0.5, Task = Task, MaxNewTokens = 24 };
        using var reference = Open(_serial, longOptions);
        using var otherReference = Open(_serial, otherOptions);
        reference.Step(Screen(0), "first", CancellationToken.None);
        var expectedOther = otherReference.Step(Screen(0, 260, 300), "first", CancellationToken.None);

        using var cancelled = Open(_batched, longOptions);
        using var other = Open(_batched, otherOptions);
        cancelled.Step(Screen(0), "first", CancellationToken.None);
        var seen = cancelled.SeenTokens;
        var position = cancelled.NextPosition;
        var scheduler = _batched.Scheduler!;
        var rowsBefore = scheduler.DecodedRows;

        using var cts = new CancellationTokenSource();
        var longStep = OnOwnThread(() => cancelled.Step(Screen(1), "second", cts.Token));
        var otherStep = OnOwnThread(() => other.Step(Screen(0, 260, 300), "first", CancellationToken.None));
        // Cancel once both sessions have decoded together for a few tokens.
        while (scheduler.DecodedRows < rowsBefore + 8 && !longStep.IsCompleted)
        {
            await System.Threading.Tasks.Task.Delay(5);
        }

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => longStep);
        var actualOther = await otherStep;

        Assert.Equal(expectedOther.Text, actualOther.Text);
        Assert.Equal(expectedOther.Figures.KeptPerLayer, actualOther.Figures.KeptPerLayer);
        Assert.Equal(1, cancelled.StepsTaken);
        Assert.Equal(seen, cancelled.SeenTokens);
        Assert.Equal(position, cancelled.NextPosition);

        // The rolled-back session takes the step again and gets what the serial session gets.
        var expectedRetry = reference.Step(Screen(1), "second", CancellationToken.None);
        var actualRetry = cancelled.Step(Screen(1), "second", CancellationToken.None);
        Assert.Equal(expectedRetry.Text, actualRetry.Text);
        AssertLogits(reference.LastPromptLogits!, cancelled.LastPromptLogits!, "the retried step's prefill");
    }

    [Fact]
    public async Task Cancelling_a_step_between_its_prefill_chunks_rolls_its_session_back_and_the_retry_matches_the_serial_step()
    {
        // 2 tokens an iteration: the first step's prefill (system prompt, task, screenshot) takes hundreds of iterations.
        using var chunking = Qwen25VlRuntime.LoadBuiltInTiny(fixture.Folder, torch.CPU, scheduling: new StepSchedulerOptions { MaxBatchSize = 4, MaxTokensPerIteration = 2 });
        var options = new SessionOptions { Method = "h2o", BudgetRatio = 0.3, Task = Task, MaxNewTokens = 5 };
        using var session = Open(chunking, options);
        var scheduler = chunking.Scheduler!;
        using var cts = new CancellationTokenSource();
        var step = OnOwnThread(() => session.Step(Screen(0), "first", cts.Token));
        SpinWait.SpinUntil(() => scheduler.PrefillChunks >= 5 || step.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => step);
        Assert.Equal(0, session.StepsTaken);
        Assert.Equal(0, session.SeenTokens);

        using var reference = Open(_serial, options);
        var expected = reference.Step(Screen(0), "first", CancellationToken.None);
        var actual = session.Step(Screen(0), "first", CancellationToken.None);
        Assert.Equal(expected.Text, actual.Text);
        Assert.Equal(expected.Figures.KeptPerLayer, actual.Figures.KeptPerLayer);
        Assert.True(expected.Figures.TokensPrefilled > 100, $"the first step prefilled {expected.Figures.TokensPrefilled} tokens");
        AssertLogits(reference.LastPromptLogits!, session.LastPromptLogits!, "the retried step's prefill");
    }

    [Theory]
    [InlineData(1024)]
    [InlineData(40)] // the failing step's prefill in several chunks, the failure after its last one
    public async Task A_failing_compressor_fails_its_own_step_only_and_its_session_continues_as_if_the_step_never_ran(int tokensPerIteration)
    {
        using var batched = Qwen25VlRuntime.LoadBuiltInTiny(fixture.Folder, torch.CPU, scheduling: new StepSchedulerOptions { MaxBatchSize = 8, MaxTokensPerIteration = tokensPerIteration });
        var options = new SessionOptions { Method = "starkv", BudgetRatio = 0.25, Task = Task, MaxNewTokens = 6 };
        var otherOptions = new SessionOptions { Method = "h2o", BudgetRatio = 0.4, Task = Task, MaxNewTokens = 16 };
        using var reference = Open(_serial, options);
        using var otherReference = Open(_serial, otherOptions);
        var failing = new FailingCompressor(new CompressorFactory().Create("starkv", new CompressorOptions()));
        using var session = (AgentSession)batched.CreateSession(options, failing);
        using var other = Open(batched, otherOptions);

        reference.Step(Screen(0), "", CancellationToken.None);
        session.Step(Screen(0), "", CancellationToken.None);
        var expectedOther = otherReference.Step(Screen(2, 400, 180), "", CancellationToken.None);
        var seen = session.SeenTokens;

        failing.FailAtLayer = 1;
        var otherStep = OnOwnThread(() => other.Step(Screen(2, 400, 180), "", CancellationToken.None));
        var error = Assert.Throws<InvalidOperationException>(() => session.Step(Screen(1), "", CancellationToken.None));
        Assert.Contains("injected", error.Message, StringComparison.Ordinal);
        var actualOther = await otherStep;
        Assert.Equal(expectedOther.Text, actualOther.Text);
        Assert.Equal(1, session.StepsTaken);
        Assert.Equal(seen, session.SeenTokens);

        failing.FailAtLayer = null;
        var expected = reference.Step(Screen(1), "", CancellationToken.None);
        var actual = session.Step(Screen(1), "", CancellationToken.None);
        Assert.Equal(expected.Text, actual.Text);
        Assert.Equal(expected.Figures.KeptPerLayer, actual.Figures.KeptPerLayer);
        AssertLogits(reference.LastPromptLogits!, session.LastPromptLogits!, "the step after the failure");
    }

    [Fact]
    public async Task A_full_batch_keeps_later_steps_waiting_within_the_limits_and_a_waiting_step_can_be_cancelled()
    {
        // Two rows at most, 64 tokens an iteration: the second prefill starts when the first one's chunks leave room, and
        // the third step waits for a row.
        using var narrow = Qwen25VlRuntime.LoadBuiltInTiny(fixture.Folder, torch.CPU, scheduling: new StepSchedulerOptions { MaxBatchSize = 2, MaxTokensPerIteration = 64 });
        var options = new SessionOptions { Method = "snapkv", BudgetRatio = 0.5, Task = Task, MaxNewTokens = 300 };
        var expected = Run(_serial, options, 1, 320, 200);
        using var first = Open(narrow, options);
        using var second = Open(narrow, options);
        using var waiting = Open(narrow, options);
        var firstStep = OnOwnThread(() => first.Step(Screen(0), "step 0", CancellationToken.None));
        var secondStep = OnOwnThread(() => second.Step(Screen(0), "step 0", CancellationToken.None));
        while (narrow.Scheduler!.DecodedRows < 4 && !firstStep.IsCompleted)
        {
            await System.Threading.Tasks.Task.Delay(5);
        }

        using var cts = new CancellationTokenSource();
        var waitingStep = OnOwnThread(() => waiting.Step(Screen(0), "step 0", cts.Token));
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waitingStep);
        Assert.Equal(0, waiting.StepsTaken);
        Assert.Equal(0, waiting.SeenTokens);

        Assert.Equal(expected.Outcomes[0].Text, (await firstStep).Text);
        Assert.Equal(expected.Outcomes[0].Text, (await secondStep).Text);
        Assert.Equal(2, narrow.Scheduler.LargestBatch);
    }

    [Fact]
    public void A_batched_session_checkpoints_and_restores_into_a_serial_runtime_unchanged()
    {
        var options = new SessionOptions { Method = "starkv", BudgetRatio = 0.2, Task = Task, MaxNewTokens = 7 };
        using var reference = Open(_serial, options);
        using var batched = Open(_batched, options);
        for (var step = 0; step < 2; step++)
        {
            reference.Step(Screen(step), "", CancellationToken.None);
            batched.Step(Screen(step), "", CancellationToken.None);
        }

        using var restored = (AgentSession)_serial.RestoreSession(batched.Save());
        var expected = reference.Step(Screen(2), "", CancellationToken.None);
        var actual = restored.Step(Screen(2), "", CancellationToken.None);
        Assert.Equal(expected.Text, actual.Text);
        AssertLogits(reference.LastPromptLogits!, restored.LastPromptLogits!, "the restored session's step");
    }

    /// <summary>
    /// Seven sessions of different methods, budgets, screenshot sizes, step counts and modes (one re-prefills its history
    /// each step into a fresh cache) at once, against each alone in the serial runtime.
    /// </summary>
    private async Task AssertBatchedAsSerial(Qwen25VlRuntime batched)
    {
        var plans = new (SessionOptions Options, int Steps, int Width, int Height)[]
        {
            (new SessionOptions { Method = "starkv", BudgetRatio = 0.2, Task = Task, MaxNewTokens = 9 }, 3, 320, 200),
            (new SessionOptions { Method = "snapkv", BudgetRatio = 0.5, Task = Task, MaxNewTokens = 3 }, 2, 260, 300),
            (new SessionOptions { Method = "full", Task = Task, MaxNewTokens = 6 }, 3, 400, 180),
            (new SessionOptions { Method = "h2o", BudgetRatio = 0.3, Task = Task, MaxNewTokens = 12 }, 1, 200, 200),
            (new SessionOptions { Method = "streamingllm", BudgetTokens = 64, Task = "", MaxNewTokens = 5 }, 2, 300, 240),
            (new SessionOptions { Method = "pyramidkv", BudgetRatio = 0.4, Task = Task, MaxNewTokens = 1 }, 2, 240, 320),
            (new SessionOptions { Mode = SessionMode.ReprefillHistory, HistoryScreenshots = 2, Method = "snapkv", BudgetRatio = 0.4, Task = Task, MaxNewTokens = 7 }, 3, 280, 220),
        };

        var expected = plans.Select(p => Run(_serial, p.Options, p.Steps, p.Width, p.Height)).ToArray();
        // All at once, each session's steps one after the other: sessions join the batch as their prefills finish and
        // leave it as their replies end, so batches hold varying mixes of sessions.
        var actual = await System.Threading.Tasks.Task.WhenAll(
            plans.Select(p => OnOwnThread(() => Run(batched, p.Options, p.Steps, p.Width, p.Height))));

        for (var i = 0; i < plans.Length; i++)
        {
            AssertSame(expected[i], actual[i], $"session {i} ({plans[i].Options.Method})");
        }
    }

    /// <summary>
    /// Runs a blocking step on a thread of its own, as each grain's step waits on its own: on a 2-core machine, steps
    /// waiting on thread-pool threads would hold back the test's own continuations (the cancellation below).
    /// </summary>
    private static Task<T> OnOwnThread<T>(Func<T> step) =>
        System.Threading.Tasks.Task.Factory.StartNew(step, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static byte[] Screen(int step, int width = 320, int height = 200) => TinyRuntimeFixture.Screen(step, width, height);

    private static AgentSession Open(Qwen25VlRuntime runtime, SessionOptions options) => (AgentSession)runtime.CreateSession(options);

    private static Trajectory Run(Qwen25VlRuntime runtime, SessionOptions options, int steps, int width, int height)
    {
        using var session = Open(runtime, options);
        var outcomes = new List<StepOutcome>();
        var logits = new List<float[]>();
        for (var step = 0; step < steps; step++)
        {
            outcomes.Add(session.Step(Screen(step, width, height), $"step {step}", CancellationToken.None));
            logits.Add([.. session.LastPromptLogits!]);
        }

        // The prefill logits of every step after the first read the entries the previous step's decodes wrote.
        return new Trajectory(outcomes, logits, [.. session.AppendedIds], session.SeenTokens, session.KvBytes);
    }

    private static void AssertSame(Trajectory expected, Trajectory actual, string what)
    {
        Assert.Equal(expected.Outcomes.Select(o => o.Text), actual.Outcomes.Select(o => o.Text));
        Assert.Equal(expected.AppendedIds, actual.AppendedIds);
        Assert.Equal(expected.SeenTokens, actual.SeenTokens);
        Assert.Equal(expected.KvBytes, actual.KvBytes);
        for (var step = 0; step < expected.Outcomes.Count; step++)
        {
            var (e, a) = (expected.Outcomes[step].Figures, actual.Outcomes[step].Figures);
            Assert.Equal((e.TokensPrefilled, e.TokensDecoded, e.SeenTokens, e.KvBytes), (a.TokensPrefilled, a.TokensDecoded, a.SeenTokens, a.KvBytes));
            Assert.Equal(e.KeptPerLayer, a.KeptPerLayer);
            AssertLogits(expected.PromptLogits[step], actual.PromptLogits[step], $"{what}, step {step}");
        }
    }

    /// <summary>Within 1e-4 of the largest magnitude.</summary>
    private static void AssertLogits(IReadOnlyList<float> expected, IReadOnlyList<float> actual, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        var scale = expected.Max(Math.Abs);
        var worst = expected.Zip(actual, (x, y) => Math.Abs(x - y)).Max();
        Assert.True(worst <= 1e-4 * scale, $"{what}: prefill logits differ by {worst} (scale {scale}).");
    }

    private sealed record Trajectory(List<StepOutcome> Outcomes, List<float[]> PromptLogits, int[] AppendedIds, long SeenTokens, long KvBytes);

    /// <summary>Delegates to a real compressor and keeps, per call, what the prefill showed it (with the column sums asked for).</summary>
    private sealed class RecordingCompressor(IKvCompressor inner) : IKvCompressor
    {
        public List<(int Layer, float[] TurnQueries, float[] ColumnSums, float[] ScreenshotHidden, float[] Keys)> Calls { get; } = [];

        public string Name => inner.Name;

        public int WindowSize => inner.WindowSize;

        public bool UsesPrefillColumnSums => true;

        public LayerSelection Compress(LayerCompressionInput input)
        {
            Calls.Add((input.LayerIndex, Values(input.TurnQueries!), Values(input.PrefillColumnSums!), Values(input.ScreenshotHiddenStates), Values(input.Keys)));
            return inner.Compress(input);
        }

        private static float[] Values(torch.Tensor tensor)
        {
            using var host = tensor.to(torch.ScalarType.Float32).cpu().contiguous();
            return host.data<float>().ToArray();
        }
    }

    /// <summary>Delegates to a real compressor and throws at a chosen layer.</summary>
    private sealed class FailingCompressor(IKvCompressor inner) : IKvCompressor
    {
        public int? FailAtLayer { get; set; }

        public string Name => inner.Name;

        public int WindowSize => inner.WindowSize;

        public LayerSelection Compress(LayerCompressionInput input)
        {
            if (input.LayerIndex == FailAtLayer)
            {
                throw new InvalidOperationException($"injected failure at layer {input.LayerIndex}");
            }

            return inner.Compress(input);
        }
    }
}
