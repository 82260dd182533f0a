using StarKv.Compression;
using StarKv.Compression.Api;
using StarKv.GpuWorker.Images;
using StarKv.GpuWorker.Runtime;
using StarKv.GpuWorker.Sessions;

namespace StarKv.GpuWorker.Tests.Sessions;

/// <summary>What a step does around the model: rollback without a copy, preprocessing outside the lock, H2O's sums from the prefill.</summary>
[Collection(TinyRuntimeGroup.Name)]
public sealed class SessionStepCostTests(TinyRuntimeFixture fixture)
{
    private const string Task = "Open the settings page and enable dark mode.";

    private readonly Qwen25VlRuntime _runtime = fixture.Runtime;

    [Theory]
    [InlineData("snapkv", 0.25)]
    [InlineData("starkv", 0.25)]
    [InlineData("full", 1.0)]
    public void A_step_that_fails_in_its_decode_leaves_the_session_bit_identical_to_before(string method, double budget)
    {
        var options = new SessionOptions { Method = method, BudgetRatio = budget, Task = Task, MaxNewTokens = 5 };
        var inner = new CompressorFactory().Create(method, new CompressorOptions());
        var failing = new CancellingCompressor(inner);
        using var session = _runtime.CreateSession(options, failing);
        session.Step(TinyRuntimeFixture.Screen(0), "", CancellationToken.None);
        session.Step(TinyRuntimeFixture.Screen(1), "", CancellationToken.None);
        var before = session.Save();
        var bytesBefore = session.KvBytes;

        // Cancelled after the last layer compressed: the prefill, every compression and the first decode tokens ran.
        using (var cancel = new CancellationTokenSource())
        {
            failing.AtLastLayer = cancel.Cancel;
            Assert.Throws<OperationCanceledException>(() => session.Step(TinyRuntimeFixture.Screen(2), "", cancel.Token));
        }

        Assert.Equal(before, session.Save());
        Assert.True(session.KvBytes >= bytesBefore);
        failing.AtLastLayer = null;
        using var reference = (AgentSession)_runtime.CreateSession(options);
        reference.Step(TinyRuntimeFixture.Screen(0), "", CancellationToken.None);
        reference.Step(TinyRuntimeFixture.Screen(1), "", CancellationToken.None);
        var expected = reference.Step(TinyRuntimeFixture.Screen(2), "", CancellationToken.None);
        var actual = session.Step(TinyRuntimeFixture.Screen(2), "", CancellationToken.None);
        Assert.Equal(expected.Text, actual.Text);
        Assert.Equal(reference.LastPromptLogits!, session.LastPromptLogits!);
        Assert.Equal(reference.Save(), session.Save());
    }

    [Fact]
    public async Task The_screenshot_is_decoded_before_the_runtimes_lock_and_timed_on_its_own()
    {
        using var session = _runtime.CreateSession(new SessionOptions { Method = "snapkv", Task = Task, MaxNewTokens = 3 });
        var broken = TinyRuntimeFixture.Screen(0)[..100];
        using var held = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var holder = new Thread(() =>
        {
            // Another session's model work holds the runtime's lock.
            using (_runtime.ExecutionGate.EnterScope())
            {
                held.Set();
                release.Wait();
            }
        });
        holder.Start();
        held.Wait();
        try
        {
            var step = System.Threading.Tasks.Task.Run(() => session.Step(broken, "", CancellationToken.None));
            var first = await System.Threading.Tasks.Task.WhenAny(step, System.Threading.Tasks.Task.Delay(TimeSpan.FromSeconds(30)));
            Assert.True(first == step, "the step waited for the runtime's lock before decoding its screenshot");
            await Assert.ThrowsAsync<ImageDecodeException>(() => step);
        }
        finally
        {
            release.Set();
            holder.Join();
        }

        var figures = session.Step(TinyRuntimeFixture.Screen(0), "", CancellationToken.None).Figures;
        Assert.True(figures.PreprocessMs > 0);
        Assert.True(figures.VisionMs > 0);
    }

    [Theory]
    [InlineData(0.3)]
    [InlineData(0.6)]
    public void H2O_fed_by_the_prefills_column_sums_keeps_what_it_keeps_when_it_recomputes_the_attention(double budget)
    {
        var options = new SessionOptions { Method = "h2o", BudgetRatio = budget, Task = Task, MaxNewTokens = 4 };
        using var fromPrefill = (AgentSession)_runtime.CreateSession(options);
        var recomputing = new HidingCompressor(new CompressorFactory().Create("h2o", new CompressorOptions()));
        Assert.True(new CompressorFactory().Create("h2o", new CompressorOptions()).UsesPrefillColumnSums);
        using var recomputed = _runtime.CreateSession(options, recomputing);
        for (var step = 0; step < 3; step++)
        {
            var a = fromPrefill.Step(TinyRuntimeFixture.Screen(step), "", CancellationToken.None);
            var b = recomputed.Step(TinyRuntimeFixture.Screen(step), "", CancellationToken.None);
            Assert.Equal(b.Figures.KeptPerLayer, a.Figures.KeptPerLayer);
            Assert.Equal(recomputed.KeptVisionCells().Layers, fromPrefill.KeptVisionCells().Layers);
            var worst = fromPrefill.LastPromptLogits!.Zip(recomputed.LastPromptLogits!, (x, y) => Math.Abs(x - y)).Max();
            Assert.True(worst < 1e-4, $"step {step}: the explicit attention's logits differ by {worst}");
            Assert.True(recomputing.Calls > 0);
        }
    }

    /// <summary>Delegates to a real compressor and calls back when the last layer has been compressed.</summary>
    private sealed class CancellingCompressor(IKvCompressor inner) : IKvCompressor
    {
        public Action? AtLastLayer { get; set; }

        public string Name => inner.Name;

        public int WindowSize => inner.WindowSize;

        public LayerSelection Compress(LayerCompressionInput input)
        {
            var selection = inner.Compress(input);
            if (input.LayerIndex == input.LayerCount - 1)
            {
                AtLastLayer?.Invoke();
            }

            return selection;
        }
    }

    /// <summary>A compressor that does not ask the prefill for column sums, so H2O recomputes the attention itself.</summary>
    private sealed class HidingCompressor(IKvCompressor inner) : IKvCompressor
    {
        public int Calls { get; private set; }

        public string Name => inner.Name;

        public int WindowSize => inner.WindowSize;

        public LayerSelection Compress(LayerCompressionInput input)
        {
            Assert.Null(input.PrefillColumnSums);
            Calls++;
            return inner.Compress(input);
        }
    }
}
