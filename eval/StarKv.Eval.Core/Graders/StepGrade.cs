using StarKv.Eval.Core.Benchmarks;

namespace StarKv.Eval.Core.Graders;

/// <summary>A step's score in [0, 1] (1 or 0 for the binary benchmarks, continuous for AgentNetBench) and why.</summary>
public sealed record StepGrade(double Score, string Note)
{
    public bool Correct => Score >= 1.0;

    public static StepGrade Right(string note) => new(1.0, note);

    public static StepGrade Wrong(string note) => new(0.0, note);
}

/// <summary>Grades one step of one benchmark. Implementations name their source in their documentation and <see cref="Source"/>.</summary>
public interface IStepGrader
{
    /// <summary>The rule's name as results report it, for example <c>element-box</c>.</summary>
    string Name { get; }

    /// <summary>Where the rule comes from (paper or evaluation script).</summary>
    string Source { get; }

    StepGrade Grade(ModelPrediction prediction, EvalStep step);
}
