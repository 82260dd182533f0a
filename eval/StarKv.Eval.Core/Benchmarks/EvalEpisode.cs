namespace StarKv.Eval.Core.Benchmarks;

/// <summary>
/// Where a step's screenshot comes from: a file on disk or bytes embedded in a data file (Parquet). Read lazily,
/// so a loader never holds a whole benchmark's images in memory.
/// </summary>
public sealed record StepImage(string Description, Func<byte[]> Read)
{
    public static StepImage FromFile(string path) => new(path, () => File.ReadAllBytes(path));

    public static StepImage FromBytes(string description, byte[] bytes) => new(description, () => bytes);
}

/// <summary>
/// One model call: a screenshot, the instruction sent with it (may be empty) and the ground truth.
/// <see cref="Category"/> is the step's subset where a benchmark aggregates by step (AgentNetBench's action
/// category, AndroidControl's ground-truth action type); empty otherwise.
/// </summary>
public sealed record EvalStep(string Id, StepImage Image, string Instruction, StepTruth Truth, string Category = "");

/// <summary>What a grader compares a prediction with; each benchmark has its own kind.</summary>
public abstract record StepTruth;

/// <summary>
/// One agent session: the task text (<see cref="StarKv.GpuWorker.Sessions.SessionOptions.Task"/>; empty puts the
/// first instruction into the prompt) and its steps in order. <see cref="Tags"/> name the subsets the sample belongs
/// to (platform, ui type, group, kind, ...), which the benchmark's summary aggregates over.
/// </summary>
public sealed record EvalEpisode(string Id, string Task, IReadOnlyList<EvalStep> Steps, IReadOnlyDictionary<string, string> Tags)
{
    public string Tag(string name) => Tags.TryGetValue(name, out var value) ? value : "";
}

/// <summary>
/// A loaded benchmark: its episodes, how to grade a step and how to aggregate. <see cref="ReprefillScreenshots"/> is
/// how many screenshots the protocol shows the model per step when the history is re-prefilled (one for the
/// single-screenshot protocols, five for AgentNetBench and the synthetic suite).
/// </summary>
public sealed record BenchmarkData(
    string Name,
    string Layout,
    IReadOnlyList<EvalEpisode> Episodes,
    Graders.IStepGrader Grader,
    Reports.IBenchmarkSummary Summary,
    int ReprefillScreenshots);
