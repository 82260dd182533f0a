using StarKv.Grains.Sessions;
using StarKv.GpuWorker.Sessions;

namespace StarKv.Grains.Actions;

/// <summary>The parsed action of a step's answer, or why it is not a valid action.</summary>
public sealed record ActionParse(ParsedStepAction? Action, string? Error);

/// <summary>Turns a step's raw answer into an action with coordinates in pixels of the original screenshot.</summary>
public interface IStepActionParser
{
    ActionParse Parse(StepOutcome outcome);
}
