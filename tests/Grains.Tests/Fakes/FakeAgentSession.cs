using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using StarKv.GpuWorker.Sessions;

namespace StarKv.Grains.Tests.Fakes;

/// <summary>
/// One session of <see cref="FakeModelRuntime"/>. Reads the PNG header for the screenshot's size, "resizes" it to
/// multiples of 28, counts (w/28)·(h/28) visual tokens plus the instruction's characters / 4 plus 12 template tokens,
/// and keeps <c>ceil(ratio · seen)</c> (or the token budget) entries, as a compressed cache would.
/// </summary>
public sealed class FakeAgentSession : IAgentSession
{
    private const int Layers = 4;
    private readonly FakeModelRuntime _runtime;

    internal FakeAgentSession(FakeModelRuntime runtime, SessionOptions options, int stepsTaken, ulong history, long seenTokens)
    {
        _runtime = runtime;
        Options = options;
        StepsTaken = stepsTaken;
        History = history;
        SeenTokens = seenTokens;
    }

    public SessionOptions Options { get; }

    public int StepsTaken { get; private set; }

    public long KvBytes => Kept * _runtime.KvBytesPerToken;

    internal ulong History { get; private set; }

    internal long SeenTokens { get; private set; }

    private long Kept => Options.BudgetTokens is { } tokens
        ? Math.Min(SeenTokens, tokens)
        : (long)Math.Ceiling(Options.BudgetRatio * SeenTokens);

    public StepOutcome Step(ReadOnlyMemory<byte> screenshot, string instruction, CancellationToken cancellationToken)
    {
        var (width, height) = PngSize(screenshot.Span);
        _runtime.CountStep();
        if (_runtime.StepDelay > TimeSpan.Zero)
        {
            Thread.Sleep(_runtime.StepDelay);
        }

        _runtime.StepGate?.Wait(TimeSpan.FromMinutes(2), cancellationToken);

        var resizedWidth = Math.Max(28, (int)Math.Round(width / 28.0) * 28);
        var resizedHeight = Math.Max(28, (int)Math.Round(height / 28.0) * 28);
        var prefilled = (resizedWidth / 28 * (resizedHeight / 28)) + (instruction.Length / 4) + 12;

        History = Mix(Mix(History, screenshot.Span), Encoding.UTF8.GetBytes(instruction));
        var x = (int)(History % (ulong)resizedWidth);
        var y = (int)((History >> 20) % (ulong)resizedHeight);
        var text = string.Create(CultureInfo.InvariantCulture, $"Thought: step {StepsTaken} sees {History:x16}.\nAction: click(point='<point>{x} {y}</point>')");
        var decoded = 16;
        SeenTokens += prefilled + decoded;
        var index = StepsTaken;
        StepsTaken++;

        var kept = Kept;
        return new StepOutcome(index, text, width, height, resizedWidth, resizedHeight, new StepFigures
        {
            TokensPrefilled = prefilled,
            TokensDecoded = decoded,
            SeenTokens = SeenTokens,
            KeptPerLayer = Enumerable.Repeat(kept, Layers).ToArray(),
            KvBytes = kept * _runtime.KvBytesPerToken,
            FullKvBytes = SeenTokens * _runtime.KvBytesPerToken,
            PreprocessMs = 0.25,
            VisionMs = 1,
            PrefillMs = 2,
            CompressMs = 0.5,
            DecodeMs = 3,
        });
    }

    public byte[] Save() => _runtime.Save(this);

    /// <summary>
    /// A delta when the previous capture was taken right before the last step (a restored session counts as captured):
    /// the fake's whole state behind a delta header naming the step count it continues, so a restore can check the chain.
    /// </summary>
    public ISessionCheckpoint CaptureCheckpoint(bool full)
    {
        var previous = CapturedSteps;
        CapturedSteps = StepsTaken;
        var delta = !full && StepsTaken > 0 && previous == StepsTaken - 1;
        return new FakeCheckpoint(delta, StepsTaken, delta ? _runtime.SaveDelta(this, StepsTaken - 1) : Save());
    }

    /// <summary>Steps taken at the last capture; -1 before any.</summary>
    internal int CapturedSteps { get; set; } = -1;

    public void Dispose()
    {
    }

    private sealed class FakeCheckpoint(bool isDelta, int stepsTaken, byte[] bytes) : ISessionCheckpoint
    {
        public bool IsDelta { get; } = isDelta;

        public int StepsTaken { get; } = stepsTaken;

        public void WriteTo(Stream destination, CancellationToken cancellationToken) => destination.Write(bytes);

        public void Dispose()
        {
        }
    }

    /// <summary>Width and height from a PNG's IHDR chunk; anything else is refused as the real runtime would.</summary>
    public static (int Width, int Height) PngSize(ReadOnlySpan<byte> png)
    {
        ReadOnlySpan<byte> signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
        if (png.Length < 24 || !png[..8].SequenceEqual(signature))
        {
            throw new InvalidDataException("The screenshot is not a PNG.");
        }

        return (BinaryPrimitives.ReadInt32BigEndian(png[16..]), BinaryPrimitives.ReadInt32BigEndian(png[20..]));
    }

    private static ulong Mix(ulong hash, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * 0x100000001b3UL;
        }

        return hash;
    }
}
