using StarKv.Compression;
using StarKv.Compression.Api;
using StarKv.GpuWorker.Images;
using StarKv.GpuWorker.Model.Positions;
using StarKv.GpuWorker.Runtime;
using StarKv.GpuWorker.Sessions;
using StarKv.GpuWorker.Tests.Images;
using StarKv.GpuWorker.Text;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.Sessions;

[Collection(TinyRuntimeGroup.Name)]
public sealed class AgentSessionTests(TinyRuntimeFixture fixture)
{
    private const string Task = "Open the settings page and enable dark mode.";

    private readonly Qwen25VlRuntime _runtime = fixture.Runtime;

    private static readonly byte[][] Screens = [TinyRuntimeFixture.Screen(0), TinyRuntimeFixture.Screen(1, 260, 300), TinyRuntimeFixture.Screen(2, 400, 180)];

    [Fact]
    public void Full_budget_sessions_give_the_uncompressed_text_and_logits_and_match_one_prefill_of_the_whole_history()
    {
        using var full = Open(new SessionOptions { Method = "full", Task = Task, MaxNewTokens = 6 });
        using var starKv = Open(new SessionOptions { Method = "starkv", BudgetRatio = 1.0, Task = Task, MaxNewTokens = 6 });
        for (var step = 0; step < Screens.Length; step++)
        {
            var expected = full.Step(Screens[step], "next", CancellationToken.None);
            var actual = starKv.Step(Screens[step], "next", CancellationToken.None);
            Assert.Equal(expected.Text, actual.Text);
            Assert.Equal(full.LastPromptLogits!, starKv.LastPromptLogits!);
            Assert.Equal(expected.Figures.SeenTokens, actual.Figures.SeenTokens);
            Assert.Equal(expected.Figures.KvBytes, actual.Figures.KvBytes);
            // The storage held is the full cache plus the room reserved for decoding that this step did not use.
            Assert.Equal(actual.Figures.FullKvBytes + ((6 - actual.Figures.TokensDecoded) * _runtime.KvBytesPerToken), actual.Figures.KvBytes);
        }

        // The reference: one prefill of every token the session appended, on a fresh cache, with positions from 0.
        var decodedLast = full.AppendedIds.Count - (int)full.SeenTokens;
        Assert.Equal(0, decodedLast);
        var last = full.Step(TinyRuntimeFixture.Screen(3), "again", CancellationToken.None);
        var prefixLength = full.AppendedIds.Count - (last.Figures.TokensDecoded - 1);
        var ids = full.AppendedIds.Take(prefixLength).ToList();
        var model = _runtime.Model;
        var images = Screens.Append(TinyRuntimeFixture.Screen(3)).Select(b => Qwen2VlImageProcessor.Process(b, _runtime.Config.Image, torch.CPU)).ToList();
        try
        {
            var grids = images.Select(i => i.Grid).ToArray();
            using var features = torch.cat(images.Select(i => model.EncodeImage(i.Patches, i.Grid)).ToArray(), 0); // [ΣV, hidden]
            using var positions = MropePositions.ForTurn(ids, _runtime.Config.Tokens.ImageTokenId, grids, 2, 0);
            var bookkeeping = MropePositions.Bookkeeping(ids, _runtime.Config.Tokens.ImageTokenId, grids, 2, 0, 0);
            using var cache = model.NewCache();
            using var logits = model.Prefill(ids, features, positions, bookkeeping, cache); // [vocab]
            var reference = logits.data<float>().ToArray();
            var session = full.LastPromptLogits!;
            var worst = reference.Zip(session, (a, b) => Math.Abs(a - b)).Max();
            Assert.True(worst < 1e-4, $"Turn-by-turn logits differ from one whole prefill by {worst}.");
            Assert.Equal(positions.NextPosition, full.NextPosition - (last.Figures.TokensDecoded - 1));
        }
        finally
        {
            images.ForEach(i => i.Dispose());
        }
    }

    [Fact]
    public void Twenty_percent_budget_keeps_a_fifth_plus_the_window_per_layer_and_the_bytes_show_it()
    {
        var perEntry = 2L * _runtime.Config.Text.NumKeyValueHeads * _runtime.Config.Text.HeadDim * sizeof(float);
        foreach (var method in new[] { "snapkv", "starkv" })
        {
            using var session = Open(new SessionOptions { Method = method, BudgetRatio = 0.2, Task = Task, MaxNewTokens = 5 });
            var window = method == "snapkv" ? 32 : 8;
            for (var step = 0; step < Screens.Length; step++)
            {
                var figures = session.Step(Screens[step], "", CancellationToken.None).Figures;
                var appendedAfterCompression = figures.TokensDecoded - 1;
                var seenAtCompression = figures.SeenTokens - appendedAfterCompression;
                var keep = Math.Max(window + 1, (long)Math.Floor(0.2 * seenAtCompression));
                Assert.True(keep < seenAtCompression);
                if (method == "snapkv")
                {
                    Assert.All(figures.KeptPerLayer, kept => Assert.Equal(keep, kept));
                }
                else
                {
                    // STaR-KV Adaptive splits the layers' total by entropy: the total is the uniform budget's.
                    Assert.Equal(keep * figures.KeptPerLayer.Count, figures.KeptPerLayer.Sum());
                    Assert.All(figures.KeptPerLayer, kept => Assert.InRange(kept, window + 1, seenAtCompression));
                }

                // Held: each layer's kept entries plus the room reserved for the step's decoding (MaxNewTokens − 1), which
                // holds the decoded entries.
                Assert.Equal(figures.KeptPerLayer.Sum(k => (k + 5 - 1) * perEntry), figures.KvBytes);
                Assert.True(appendedAfterCompression <= 5 - 1);
                Assert.Equal(figures.SeenTokens * _runtime.KvBytesPerToken, figures.FullKvBytes);
                Assert.True(figures.KvBytes < 0.3 * figures.FullKvBytes, $"{method} step {step}: {figures.KvBytes} of {figures.FullKvBytes} bytes.");
                Assert.Equal(figures.KvBytes, session.KvBytes);
            }
        }
    }

    [Fact]
    public void Positions_continue_over_three_turns_with_images_as_computed_by_hand()
    {
        var real = File.ReadAllBytes(GuiSamples.PathOf(GuiSamples.Screenshots[0].Image));
        byte[][] screens = [real, Screens[1], Screens[2]];
        using var session = Open(new SessionOptions { Method = "starkv", BudgetRatio = 0.5, Task = Task, MaxNewTokens = 7 });
        long expected = 0, seen = 0;
        foreach (var screen in screens)
        {
            var outcome = session.Step(screen, "Click the button.", CancellationToken.None);
            int rows = outcome.ResizedHeight / 28, cols = outcome.ResizedWidth / 28;
            Assert.True(rows * cols <= 64, "the tiny preprocessor caps a screenshot at 64 tokens");
            var figures = outcome.Figures;
            // Text tokens take one position each; an image of rows × cols tokens takes max(rows, cols); each decoded
            // token but the last was fed back (the last one opens the next turn).
            expected += figures.TokensPrefilled - (rows * cols) + Math.Max(rows, cols) + (figures.TokensDecoded - 1);
            seen += figures.TokensPrefilled + figures.TokensDecoded - 1;
            Assert.Equal(expected, session.NextPosition);
            Assert.Equal(seen, figures.SeenTokens);
        }

        Assert.Equal(3, session.StepsTaken);
    }

    [Fact]
    public void A_corrupt_screenshot_fails_clearly_and_leaves_the_session_usable()
    {
        var options = new SessionOptions { Method = "starkv", BudgetRatio = 0.3, Task = Task, MaxNewTokens = 5 };
        using var reference = Open(options);
        using var session = Open(options);
        reference.Step(Screens[0], "", CancellationToken.None);
        var firstOutcome = session.Step(Screens[0], "", CancellationToken.None);
        var bytesBefore = session.KvBytes;

        var broken = Screens[1][..(Screens[1].Length / 3)];
        Assert.Throws<ImageDecodeException>(() => session.Step(broken, "", CancellationToken.None));
        Assert.Throws<ImageDecodeException>(() => session.Step("not an image"u8.ToArray(), "", CancellationToken.None));
        Assert.Equal(1, session.StepsTaken);
        Assert.Equal(bytesBefore, session.KvBytes);

        var expected = reference.Step(Screens[1], "", CancellationToken.None);
        var actual = session.Step(Screens[1], "", CancellationToken.None);
        Assert.Equal(expected.Text, actual.Text);
        Assert.Equal(reference.LastPromptLogits!, session.LastPromptLogits!);

        // The turns are the chat template's: the first step, then a continued conversation after the reply.
        var tokenizer = _runtime.Tokenizer;
        var first = tokenizer.Encode(Qwen25VlChatTemplate.FirstStep(UiTarsPrompts.Computer(Task), (firstOutcome.ResizedWidth / 28) * (firstOutcome.ResizedHeight / 28)));
        Assert.Equal(first, session.AppendedIds.Take(first.Count));
        var secondStart = session.AppendedIds.Count - (actual.Figures.TokensDecoded - 1) - actual.Figures.TokensPrefilled;
        var second = session.AppendedIds.Skip(secondStart).Take(actual.Figures.TokensPrefilled).ToList();
        var imageTokens = (actual.ResizedWidth / 28) * (actual.ResizedHeight / 28);
        var imEnd = tokenizer.TokenId(Qwen25VlChatTemplate.ImEnd);
        var opening = second[1] == imEnd ? 2 : 1; // the reply's last token (unless it was <|im_end|>), then <|im_end|>
        Assert.Equal(imEnd, second[opening - 1]);
        Assert.Equal(tokenizer.Encode(Qwen25VlChatTemplate.NextStep(imageTokens)), second.Skip(opening));
    }

    [Fact]
    public void A_step_that_fails_midway_restores_the_session_to_before_the_step()
    {
        var options = new SessionOptions { Method = "starkv", BudgetRatio = 0.25, Task = Task, MaxNewTokens = 5 };
        using var reference = Open(options);
        var failing = new FailingCompressor(new CompressorFactory().Create("starkv", new CompressorOptions()));
        using var session = _runtime.CreateSession(options, failing);
        reference.Step(Screens[0], "", CancellationToken.None);
        session.Step(Screens[0], "", CancellationToken.None);
        var seen = session.SeenTokens;
        var position = session.NextPosition;

        failing.FailAtLayer = 1; // layer 0 has already been compressed (and the state counted the turn) when it throws
        var error = Assert.Throws<InvalidOperationException>(() => session.Step(Screens[1], "", CancellationToken.None));
        Assert.Contains("injected", error.Message, StringComparison.Ordinal);
        Assert.Equal(seen, session.SeenTokens);
        Assert.Equal(position, session.NextPosition);
        Assert.Equal(1, session.StepsTaken);

        using (var cancelled = new CancellationTokenSource())
        {
            cancelled.Cancel();
            Assert.Throws<OperationCanceledException>(() => session.Step(Screens[1], "", cancelled.Token));
        }

        // Cancelled while layer 0 is compressed: the check before layer 1 stops the step.
        failing.FailAtLayer = null;
        using (var midway = new CancellationTokenSource())
        {
            failing.AtLayer = layer => { if (layer == 0) { midway.Cancel(); } };
            Assert.Throws<OperationCanceledException>(() => session.Step(Screens[1], "", midway.Token));
        }

        // A second step of the same session while one runs is refused, and the running step rolls back too.
        failing.AtLayer = _ => session.Step(Screens[2], "", CancellationToken.None);
        var concurrent = Assert.Throws<InvalidOperationException>(() => session.Step(Screens[1], "", CancellationToken.None));
        Assert.Contains("one step at a time", concurrent.Message, StringComparison.Ordinal);
        Assert.Equal(seen, session.SeenTokens);
        Assert.Equal(1, session.StepsTaken);

        failing.AtLayer = null;
        var expected = reference.Step(Screens[1], "", CancellationToken.None);
        var actual = session.Step(Screens[1], "", CancellationToken.None);
        Assert.Equal(expected.Text, actual.Text);
        Assert.Equal(expected.Figures.KeptPerLayer, actual.Figures.KeptPerLayer);
        Assert.Equal(reference.LastPromptLogits!, session.LastPromptLogits!);
    }

    [Fact]
    public void Reprefill_mode_prefills_the_history_with_the_last_screenshots_and_past_replies()
    {
        using var session = Open(new SessionOptions { Method = "snapkv", BudgetRatio = 0.5, Mode = SessionMode.ReprefillHistory, HistoryScreenshots = 2, Task = Task, MaxNewTokens = 6 });
        var tokenizer = _runtime.Tokenizer;
        int Count(string text) => tokenizer.Encode(text).Count;
        var head = Count(Qwen25VlChatTemplate.SystemTurn() + Qwen25VlChatTemplate.UserTurn(UiTarsPrompts.Computer(Task)));
        var generation = Count(Qwen25VlChatTemplate.GenerationPrompt);
        var outcomes = Screens.Select(s => session.Step(s, "", CancellationToken.None)).ToList();
        var shot = outcomes.Select(o => Count(Qwen25VlChatTemplate.UserTurn((o.ResizedHeight / 28) * (o.ResizedWidth / 28)))).ToList();
        var reply = outcomes.Select(o => Count(Qwen25VlChatTemplate.AssistantTurn(o.Text))).ToList();

        Assert.Equal(head + shot[0] + generation, outcomes[0].Figures.TokensPrefilled);
        Assert.Equal(head + shot[0] + reply[0] + shot[1] + generation, outcomes[1].Figures.TokensPrefilled);
        // Two screenshots kept: step 0's screenshot is dropped, its reply stays.
        Assert.Equal(head + reply[0] + shot[1] + reply[1] + shot[2] + generation, outcomes[2].Figures.TokensPrefilled);
        Assert.True(outcomes[1].Figures.TokensPrefilled > outcomes[0].Figures.TokensPrefilled);
        foreach (var outcome in outcomes)
        {
            Assert.Equal(outcome.Figures.TokensPrefilled + outcome.Figures.TokensDecoded - 1, outcome.Figures.SeenTokens);
            Assert.All(outcome.Figures.KeptPerLayer, k => Assert.True(k < outcome.Figures.TokensPrefilled));
        }

        Assert.Equal(0, session.KvBytes);
        Assert.Equal(3, session.History.Count);
    }

    private AgentSession Open(SessionOptions options) => (AgentSession)_runtime.CreateSession(options);

    /// <summary>Delegates to a real compressor and throws at a chosen layer.</summary>
    private sealed class FailingCompressor(IKvCompressor inner) : IKvCompressor
    {
        public int? FailAtLayer { get; set; }

        public Action<int>? AtLayer { get; set; }

        public string Name => inner.Name;

        public int WindowSize => inner.WindowSize;

        public LayerSelection Compress(LayerCompressionInput input)
        {
            if (input.LayerIndex == FailAtLayer)
            {
                throw new InvalidOperationException($"injected failure at layer {input.LayerIndex}");
            }

            AtLayer?.Invoke(input.LayerIndex);
            return inner.Compress(input);
        }
    }
}
