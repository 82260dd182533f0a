namespace StarKv.GpuWorker.Checkpoints;

/// <summary>A checkpoint file that cannot be read: a corrupt or truncated safetensors file, a broken shard index.</summary>
public sealed class CheckpointFormatException : Exception
{
    public CheckpointFormatException(string file, string problem)
        : base($"{file}: {problem}")
    {
        File = file;
        Problem = problem;
    }

    public CheckpointFormatException(string file, string problem, Exception inner)
        : base($"{file}: {problem}", inner)
    {
        File = file;
        Problem = problem;
    }

    public CheckpointFormatException() { }

    public CheckpointFormatException(string message) : base(message) { }

    public CheckpointFormatException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The file at fault.</summary>
    public string File { get; } = "";

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; } = "";
}

/// <summary>A tensor the model expects but the checkpoint lacks, or holds in another shape.</summary>
public sealed record TensorShapeMismatch(string Name, IReadOnlyList<long> Expected, IReadOnlyList<long> Found)
{
    public override string ToString() => $"{Name}: expected [{string.Join(", ", Expected)}], found [{string.Join(", ", Found)}]";
}

/// <summary>
/// A checkpoint whose tensors do not match the model its configuration describes: every missing, unexpected
/// and wrongly shaped tensor is listed (names are the canonical ones of <see cref="Qwen25VlCheckpointLayout"/>).
/// </summary>
public sealed class CheckpointMismatchException : Exception
{
    public CheckpointMismatchException(
        string folder,
        IReadOnlyList<string> missing,
        IReadOnlyList<string> unexpected,
        IReadOnlyList<TensorShapeMismatch> wrongShapes)
        : base(Describe(folder, missing, unexpected, wrongShapes))
    {
        Folder = folder;
        Missing = missing;
        Unexpected = unexpected;
        WrongShapes = wrongShapes;
    }

    public CheckpointMismatchException() { }

    public CheckpointMismatchException(string message) : base(message) { }

    public CheckpointMismatchException(string message, Exception inner) : base(message, inner) { }

    public string Folder { get; } = "";

    public IReadOnlyList<string> Missing { get; } = [];

    public IReadOnlyList<string> Unexpected { get; } = [];

    public IReadOnlyList<TensorShapeMismatch> WrongShapes { get; } = [];

    private static string Describe(
        string folder,
        IReadOnlyList<string> missing,
        IReadOnlyList<string> unexpected,
        IReadOnlyList<TensorShapeMismatch> wrongShapes)
    {
        var lines = new List<string> { $"Checkpoint '{folder}' does not match its config.json:" };
        if (missing.Count > 0)
        {
            lines.Add($"missing {missing.Count} tensor(s): {Limit(missing)}");
        }

        if (unexpected.Count > 0)
        {
            lines.Add($"unexpected {unexpected.Count} tensor(s): {Limit(unexpected)}");
        }

        if (wrongShapes.Count > 0)
        {
            lines.Add($"wrong shape for {wrongShapes.Count} tensor(s): {Limit(wrongShapes.Select(w => w.ToString()).ToList())}");
        }

        return string.Join(Environment.NewLine, lines);
    }

    private static string Limit(IReadOnlyList<string> items)
    {
        const int Shown = 20;
        var head = string.Join("; ", items.Take(Shown));
        return items.Count > Shown ? $"{head}; … and {items.Count - Shown} more" : head;
    }
}
