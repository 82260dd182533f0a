using StarKv.GpuWorker.Images;
using StarKv.SyntheticGui.Tasks;
using TorchSharp;

namespace StarKv.AgentTraining.Samples;

/// <summary>One screenshot of a sample as the model sees it.</summary>
/// <param name="Patches">The processor's flattened patches. // [N, 1176]</param>
/// <param name="Grid">The patch grid.</param>
/// <param name="Rows">Merged rows.</param>
/// <param name="Cols">Merged columns.</param>
/// <param name="FirstRow">The row of its first image pad token in <see cref="TrainingSample.Ids"/>.</param>
/// <param name="ContentLabels">Each cell's widget label class (<see cref="ScreenContent"/>), raster order.</param>
/// <param name="ContentColours">Each cell's widget colour class, raster order.</param>
public sealed record SampleImage(torch.Tensor Patches, GridThw Grid, int Rows, int Cols, int FirstRow, IReadOnlyList<long> ContentLabels, IReadOnlyList<long> ContentColours)
{
    public int Tokens => Rows * Cols;
}

/// <summary>Attention supervision: the query that predicts a coordinate's first digit should look at the target's vision tokens.</summary>
/// <param name="QueryRow">The query's row in <see cref="TrainingSample.Ids"/>.</param>
/// <param name="KeyRows">The target's vision token rows in <see cref="TrainingSample.Ids"/>.</param>
public sealed record AttentionTarget(int QueryRow, IReadOnlyList<long> KeyRows);

/// <summary>
/// One step of a sample as an agent session feeds it, rows of <see cref="TrainingSample.Ids"/>: the turn's prompt
/// [<paramref name="PromptStart"/>, <paramref name="ReplyStart"/>), prefilled (and then compressed) in one call, and the
/// reply's tokens [<paramref name="ReplyStart"/>, <paramref name="ReplyEnd"/>), appended one by one while decoding.
/// The <c>&lt;|im_end|&gt;</c> at <paramref name="ReplyEnd"/> opens the next turn's prompt.
/// </summary>
public sealed record SampleTurn(int PromptStart, int ReplyStart, int ReplyEnd);

/// <summary>Which vision tokens of an image lie on the target (for an image that follows its instruction).</summary>
/// <param name="Image">The image's index in <see cref="TrainingSample.Images"/>.</param>
/// <param name="Inside">One flag per merged token, raster order.</param>
public sealed record InsideTarget(int Image, IReadOnlyList<bool> Inside);

/// <summary>
/// A task turned into what the trainer feeds the model: the token ids of the whole trajectory after the shared
/// prefix (exactly what an agent session prefills and decodes, step by step, with the reference replies), the images,
/// and the supervision: which rows predict reply tokens (and which of those are coordinate digits), the attention
/// targets and the inside-target flags.
/// </summary>
public sealed class TrainingSample : IDisposable
{
    public required SuiteTask Task { get; init; }

    /// <summary>The sequence after the shared prefix.</summary>
    public required IReadOnlyList<int> Ids { get; init; }

    /// <summary>The shared prefix's length: the sequence's first tokens, prefilled once per batch.</summary>
    public required int PrefixLength { get; init; }

    public required IReadOnlyList<SampleImage> Images { get; init; }

    /// <summary>Rows whose next token is a reply token (or a reply's closing <c>&lt;|im_end|&gt;</c>).</summary>
    public required IReadOnlyList<long> LabelRows { get; init; }

    /// <summary>The tokens those rows predict.</summary>
    public required IReadOnlyList<long> LabelTargets { get; init; }

    /// <summary>Indices into <see cref="LabelRows"/> of the coordinate digits.</summary>
    public required IReadOnlyList<long> DigitLabels { get; init; }

    public required IReadOnlyList<AttentionTarget> AttentionTargets { get; init; }

    public required IReadOnlyList<InsideTarget> InsideTargets { get; init; }

    /// <summary>The steps' prompt and reply rows, in order.</summary>
    public required IReadOnlyList<SampleTurn> Turns { get; init; }

    public void Dispose()
    {
        foreach (var image in Images)
        {
            image.Patches.Dispose();
        }
    }
}
