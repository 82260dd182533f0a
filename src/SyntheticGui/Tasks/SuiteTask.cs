using StarKv.SyntheticGui.Screens;

namespace StarKv.SyntheticGui.Tasks;

/// <summary>What a task tests.</summary>
public enum TaskKind
{
    /// <summary>One screen; click the widget the instruction names.</summary>
    Grounding,

    /// <summary>3–5 screens; the last instruction refers to something shown only in an earlier screenshot.</summary>
    Memory,

    /// <summary>One screen; type, scroll or finish.</summary>
    Action,
}

/// <summary>One step of a task: the screen shown, the instruction given, the expected action and the reasoning of a correct reply.</summary>
/// <param name="Screen">The screenshot's content.</param>
/// <param name="Instruction">The step's instruction.</param>
/// <param name="Expected">The ground truth.</param>
/// <param name="Thought">The <c>Thought:</c> of a correct reply.</param>
public sealed record SuiteStep(Screen Screen, string Instruction, ExpectedAction Expected, string Thought)
{
    /// <summary>
    /// The index of the step whose screenshot shows the target, when it is an earlier one (a memory task's position
    /// recall: the box is where the widget was on that screen); null when the target is on this step's screen.
    /// </summary>
    public int? SourceStep { get; init; }

    /// <summary>A correct reply in UI-TARS-1.5's format, for a model that sees the screenshot at the given size.</summary>
    public string Reply(int resizedWidth, int resizedHeight) =>
        $"Thought: {Thought}\nAction: {Expected.Format(Screen.Width, Screen.Height, resizedWidth, resizedHeight)}";
}

/// <summary>A task of the suite: its identity, kind and steps. The agent session's task text is empty, so the first
/// instruction becomes the task of the prompt and later instructions follow their screenshots.</summary>
public sealed record SuiteTask(string Id, TaskKind Kind, Platform Platform, long Seed, IReadOnlyList<SuiteStep> Steps)
{
    /// <summary>The session's task text (empty: the first instruction is the task).</summary>
    public string TaskText { get; init; } = "";
}
