using System.Globalization;
using StarKv.GpuWorker.Text;

namespace StarKv.GpuWorker.Sessions;

/// <summary>
/// Bounds on what a client can make the model read, counted in tokens after the chat template, so no request can make
/// a prefill grow without limit: the task (in the UI-TARS prompt of the first user turn), one step's instruction (in the
/// screenshot's user turn), and everything one step prefills (text, screenshots' image pads and, in re-prefill mode, the
/// history it re-sends). The prefill's attention runs in query blocks, so memory grows linearly within these bounds.
/// </summary>
public sealed record PromptLimits
{
    public static PromptLimits Default { get; } = new();

    /// <summary>Tokens the task adds to its turn (UI-TARS' own prompt around it is about 400 more).</summary>
    public int MaxTaskTokens { get; init; } = 1024;

    /// <summary>Tokens an instruction adds to its step's turn.</summary>
    public int MaxInstructionTokens { get; init; } = 1024;

    /// <summary>Tokens one step may prefill in all: 64 Ki, room for four of UI-TARS' largest screenshots (16,384 tokens each).</summary>
    public int MaxTurnTokens { get; init; } = 65536;

    /// <summary>Tokens <paramref name="task"/> adds to the task turn; throws <see cref="ArgumentException"/> above the bound.</summary>
    public int CheckTask(Qwen2Tokenizer tokenizer, string task)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(task);
        if (task.Length == 0)
        {
            return 0;
        }

        var tokens = Added(tokenizer, Qwen25VlChatTemplate.UserTurn(AgentTurns.TaskPrompt(task, "")), Qwen25VlChatTemplate.UserTurn(AgentTurns.TaskPrompt("", "")), task.Length, MaxTaskTokens, "options.task");
        return tokens <= MaxTaskTokens
            ? tokens
            : throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"options.task takes {tokens} tokens in the chat template ({task.Length} characters); the model accepts at most {MaxTaskTokens} (StarKv:Model:MaxTaskTokens)."));
    }

    /// <summary>Tokens <paramref name="instruction"/> adds to a step's turn; throws <see cref="ArgumentException"/> above the bound.</summary>
    public int CheckInstruction(Qwen2Tokenizer tokenizer, string instruction)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(instruction);
        if (instruction.Length == 0)
        {
            return 0;
        }

        var tokens = Added(tokenizer, Qwen25VlChatTemplate.UserTurn([1], instruction), Qwen25VlChatTemplate.UserTurn([1], null), instruction.Length, MaxInstructionTokens, "instruction");
        return tokens <= MaxInstructionTokens
            ? tokens
            : throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"instruction takes {tokens} tokens in the chat template ({instruction.Length} characters); the model accepts at most {MaxInstructionTokens} (StarKv:Model:MaxInstructionTokens)."));
    }

    /// <summary>Refuses a step whose prefill would hold more than <see cref="MaxTurnTokens"/> tokens.</summary>
    public void CheckTurn(int tokens, int imageTokens, int screenshots)
    {
        if (tokens > MaxTurnTokens)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"the step would prefill {tokens} tokens ({imageTokens} of them for {screenshots} screenshot(s)); one step may prefill at most {MaxTurnTokens} (StarKv:Model:MaxTurnTokens). Send smaller screenshots, fewer history_screenshots or a shorter history."));
        }
    }

    /// <summary>
    /// Tokens <paramref name="with"/> has beyond <paramref name="without"/>. A text over 16 characters a token of the bound
    /// (no prose comes near: Qwen2's tokens average about four) is refused by its length, without the cost of encoding it.
    /// </summary>
    private static int Added(Qwen2Tokenizer tokenizer, string with, string without, int characters, int bound, string field)
    {
        if (characters > 16L * bound)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{field} has {characters} characters; the model accepts at most {bound} tokens ({(field == "options.task" ? "StarKv:Model:MaxTaskTokens" : "StarKv:Model:MaxInstructionTokens")}), far fewer than that many characters make."));
        }

        return tokenizer.Encode(with).Count - tokenizer.Encode(without).Count;
    }
}
