namespace StarKv.StepCost.Bench;

/// <summary>Takes the steps of one agent session the way its code version serves them, checkpoint included, and times them.</summary>
public interface IStepDriver : IDisposable
{
    /// <summary>"before" or "after".</summary>
    string Code { get; }

    /// <summary>Runs step <paramref name="step"/> (from 1) and its checkpoint as a trajectory grain would.</summary>
    StepRow Step(int step, byte[] screenshot, string instruction);

    /// <summary>Waits for checkpoints still being written off the steps' path; their milliseconds by the step after which each started.</summary>
    IReadOnlyDictionary<int, double> FinishBackground();
}
