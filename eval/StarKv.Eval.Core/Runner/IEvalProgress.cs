namespace StarKv.Eval.Core.Runner;

/// <summary>Told what the runner does, for a progress display. Calls come from the runner's thread, in order.</summary>
public interface IEvalProgress
{
    /// <summary>The run starts: its configurations, the episodes each runs, and how many each already has from a previous run.</summary>
    void Started(IReadOnlyList<RunConfig> configs, int episodes, IReadOnlyDictionary<string, int> alreadyDone);

    /// <summary>An episode finished under <paramref name="config"/>; <paramref name="accuracy"/> is the config's running headline figure.</summary>
    void EpisodeFinished(RunConfig config, int done, double? accuracy);

    /// <summary>A line worth printing (model loaded, files written).</summary>
    void Message(string text);
}

/// <summary>Reports nothing.</summary>
public sealed class NoProgress : IEvalProgress
{
    public static NoProgress Instance { get; } = new();

    public void Started(IReadOnlyList<RunConfig> configs, int episodes, IReadOnlyDictionary<string, int> alreadyDone)
    {
    }

    public void EpisodeFinished(RunConfig config, int done, double? accuracy)
    {
    }

    public void Message(string text)
    {
    }
}
