namespace StarKv.GpuWorker.Text;

/// <summary>
/// The text an agent session prefills at each step, in one place for the session and for anything that must
/// reproduce it token for token (a trainer building its sequences, a test). The first step is <c>system</c>, a user
/// turn with the UI-TARS computer prompt for the task (the session's task, or its first instruction when the task is
/// empty), a user turn with the screenshot followed by the step's text, and the generation prompt; a later step closes
/// the previous reply's line and adds the screenshot's user turn and the generation prompt. The previous reply's
/// <c>&lt;|im_end|&gt;</c> precedes a later step's text (the session appends it as a token).
/// </summary>
public static class AgentTurns
{
    /// <summary>The task prompt: UI-TARS' computer prompt for <paramref name="task"/>, or for the first instruction when the task is empty.</summary>
    public static string TaskPrompt(string task, string firstInstruction)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(firstInstruction);
        return UiTarsPrompts.Computer(task.Length > 0 ? task : firstInstruction);
    }

    /// <summary>The text after a step's screenshot: its instruction, unless it is empty or the first instruction became the task.</summary>
    public static string? StepText(int stepIndex, string instruction, string task)
    {
        ArgumentNullException.ThrowIfNull(instruction);
        ArgumentNullException.ThrowIfNull(task);
        return instruction.Length == 0 || (stepIndex == 0 && task.Length == 0) ? null : instruction;
    }

    /// <summary>The first step's text: system, task prompt, the screenshot (<paramref name="imageTokens"/> pads) and its text, the generation prompt.</summary>
    public static string FirstStep(string taskPrompt, int imageTokens, string? stepText) =>
        Qwen25VlChatTemplate.SystemTurn() + Qwen25VlChatTemplate.UserTurn(taskPrompt) + Qwen25VlChatTemplate.UserTurn([imageTokens], stepText) + Qwen25VlChatTemplate.GenerationPrompt;

    /// <summary>A later step's text, after the previous reply's <c>&lt;|im_end|&gt;</c>.</summary>
    public static string LaterStep(int imageTokens, string? stepText) =>
        "\n" + Qwen25VlChatTemplate.UserTurn([imageTokens], stepText) + Qwen25VlChatTemplate.GenerationPrompt;
}
