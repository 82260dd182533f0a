using StarKv.GpuWorker.Runtime;
using StarKv.GpuWorker.Sessions;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.Sessions;

/// <summary>Every input that reaches the model is bounded in tokens after the chat template, and a refusal changes nothing.</summary>
[Collection(TinyRuntimeGroup.Name)]
public sealed class PromptLimitTests(TinyRuntimeFixture fixture)
{
    [Fact]
    public void A_task_over_its_token_bound_is_refused_when_the_session_is_created()
    {
        var limits = fixture.Runtime.Limits;
        var atBound = string.Concat(Enumerable.Repeat("open settings ", 40));
        using (var fits = fixture.Runtime.CreateSession(new SessionOptions { Task = atBound }))
        {
            Assert.NotNull(fits);
        }

        var tooLong = string.Concat(Enumerable.Repeat("open the settings, then ", 400)); // ~2,400 tokens
        var error = Assert.Throws<ArgumentException>(() => fixture.Runtime.CreateSession(new SessionOptions { Task = tooLong }));
        Assert.Matches(@"^options\.task takes \d+ tokens in the chat template \(9600 characters\); the model accepts at most 1024 \(StarKv:Model:MaxTaskTokens\)\.$", error.Message);
        Assert.Null(error.ParamName);

        // 100,000 characters (the request that ended a silo) is refused by its length, without encoding it.
        var huge = Assert.Throws<ArgumentException>(() => fixture.Runtime.CreateSession(new SessionOptions { Task = new string('x', 300_000) }));
        Assert.Contains("options.task has 300000 characters", huge.Message, StringComparison.Ordinal);
        Assert.Equal(1024, limits.MaxTaskTokens);
    }

    [Fact]
    public void An_instruction_over_its_token_bound_is_refused_and_the_session_steps_on()
    {
        using var session = fixture.Runtime.CreateSession(new SessionOptions { Task = "Open the settings.", MaxNewTokens = 2 });
        var error = Assert.Throws<ArgumentException>(() => session.Step(TinyRuntimeFixture.Screen(0), string.Concat(Enumerable.Repeat("click it now ", 400)), CancellationToken.None));

        Assert.Contains("instruction takes", error.Message, StringComparison.Ordinal);
        Assert.Contains("StarKv:Model:MaxInstructionTokens", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, session.StepsTaken);
        Assert.Equal(0, session.Step(TinyRuntimeFixture.Screen(0), "click it", CancellationToken.None).StepIndex);
    }

    [Fact]
    public void A_step_that_would_prefill_more_than_the_turn_bound_is_refused_in_both_modes_and_changes_nothing()
    {
        var folder = Path.Combine(Path.GetTempPath(), "starkv-limits-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var runtime = Qwen25VlRuntime.LoadBuiltInTiny(folder, torch.CPU, new PromptLimits { MaxTurnTokens = 600 });
            foreach (var mode in new[] { SessionMode.RetainedCache, SessionMode.ReprefillHistory })
            {
                using var session = runtime.CreateSession(new SessionOptions { Task = "Open the settings.", Mode = mode, MaxNewTokens = 2 });
                var small = session.Step(TinyRuntimeFixture.Screen(0, 84, 64), "next", CancellationToken.None);
                var seen = small.Figures.SeenTokens;

                // Within the instruction's own bound, but the step's turn would be longer than 600 tokens.
                var wordy = string.Concat(Enumerable.Repeat("click it now ", 250));
                var error = Assert.Throws<ArgumentException>(() => session.Step(TinyRuntimeFixture.Screen(1, 84, 64), wordy, CancellationToken.None));

                Assert.Contains("one step may prefill at most 600 (StarKv:Model:MaxTurnTokens)", error.Message, StringComparison.Ordinal);
                Assert.Equal(1, session.StepsTaken);
                var after = session.Step(TinyRuntimeFixture.Screen(2, 84, 64), "next", CancellationToken.None);
                Assert.Equal(1, after.StepIndex);
                Assert.True(mode == SessionMode.ReprefillHistory || after.Figures.SeenTokens > seen);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
