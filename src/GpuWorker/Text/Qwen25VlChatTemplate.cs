using System.Text;

namespace StarKv.GpuWorker.Text;

/// <summary>One past agent step for <see cref="Qwen25VlChatTemplate.History"/>: its screenshot's pad-token count and the model's reply.</summary>
public sealed record ChatHistoryStep(int ImageTokens, string Reply);

/// <summary>
/// Qwen2-VL / Qwen2.5-VL's chat template (ChatML), rendered to text for the tokenizer:
/// <code>
/// &lt;|im_start|&gt;system\nYou are a helpful assistant.&lt;|im_end|&gt;\n
/// &lt;|im_start|&gt;user\n&lt;|vision_start|&gt;&lt;|image_pad|&gt;×N&lt;|vision_end|&gt;text&lt;|im_end|&gt;\n
/// &lt;|im_start|&gt;assistant\nreply&lt;|im_end|&gt;\n
/// &lt;|im_start|&gt;assistant\n            ← the generation prompt
/// </code>
/// N is the image's merged token count, (H/28)·(W/28) after smart resize. The agent methods follow the UI-TARS
/// multi-turn agent: the task prompt is its own user turn, every screenshot is a user turn of its own, and only
/// the last few screenshots stay in the history (older steps keep only the assistant's reply).
/// </summary>
public static class Qwen25VlChatTemplate
{
    public const string ImStart = "<|im_start|>";
    public const string ImEnd = "<|im_end|>";
    public const string VisionStart = "<|vision_start|>";
    public const string VisionEnd = "<|vision_end|>";
    public const string ImagePad = "<|image_pad|>";
    public const string EndOfText = "<|endoftext|>";

    /// <summary>What follows the prompt so that the model writes the assistant's turn.</summary>
    public const string GenerationPrompt = ImStart + "assistant\n";

    /// <summary>Screenshots the UI-TARS agent keeps in its history, the current one included.</summary>
    public const int DefaultMaxScreenshots = 5;

    /// <summary><c>&lt;|vision_start|&gt;</c>, <paramref name="padTokens"/> × <c>&lt;|image_pad|&gt;</c>, <c>&lt;|vision_end|&gt;</c>.</summary>
    public static string Image(int padTokens)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(padTokens, 1);
        var builder = new StringBuilder(VisionStart.Length + VisionEnd.Length + (padTokens * ImagePad.Length));
        builder.Append(VisionStart);
        for (var i = 0; i < padTokens; i++)
        {
            builder.Append(ImagePad);
        }

        return builder.Append(VisionEnd).ToString();
    }

    public static string SystemTurn(string systemPrompt = UiTarsPrompts.SystemPrompt) => Turn("system", systemPrompt);

    /// <summary>A user turn: its images (each given by its pad-token count) first, then its text.</summary>
    public static string UserTurn(IReadOnlyList<int> imageTokens, string? text)
    {
        ArgumentNullException.ThrowIfNull(imageTokens);
        var content = new StringBuilder();
        foreach (var tokens in imageTokens)
        {
            content.Append(Image(tokens));
        }

        return Turn("user", content.Append(text).ToString());
    }

    /// <summary>A user turn holding only text.</summary>
    public static string UserTurn(string text) => Turn("user", text);

    /// <summary>A user turn holding one screenshot and, optionally, text after it.</summary>
    public static string UserTurn(int imageTokens, string? text = null) => UserTurn([imageTokens], text);

    /// <summary>A finished assistant turn.</summary>
    public static string AssistantTurn(string reply) => Turn("assistant", reply);

    /// <summary>
    /// A one-turn prompt: system, one user turn with the screenshot then <paramref name="text"/>, generation prompt
    /// (how a grounding query is usually posed).
    /// </summary>
    public static string SingleTurn(string text, int imageTokens, string systemPrompt = UiTarsPrompts.SystemPrompt) =>
        SystemTurn(systemPrompt) + UserTurn(imageTokens, text) + GenerationPrompt;

    /// <summary>A one-turn prompt without an image: system, one user turn of <paramref name="text"/>, generation prompt.</summary>
    public static string SingleTextTurn(string text, string systemPrompt = UiTarsPrompts.SystemPrompt) =>
        SystemTurn(systemPrompt) + UserTurn(text) + GenerationPrompt;

    /// <summary>
    /// The first step of an agent episode: system, the task prompt as a user turn, the screenshot as a user turn,
    /// the generation prompt.
    /// </summary>
    public static string FirstStep(string taskPrompt, int imageTokens, string systemPrompt = UiTarsPrompts.SystemPrompt) =>
        SystemTurn(systemPrompt) + UserTurn(taskPrompt) + UserTurn(imageTokens) + GenerationPrompt;

    /// <summary>
    /// A later step, appended to a context that ends with the previous reply: closes that reply (unless its
    /// <c>&lt;|im_end|&gt;</c> is already there), then the new screenshot's user turn and the generation prompt.
    /// <c>FirstStep + reply + &lt;|im_end|&gt; + NextStep + …</c> equals <see cref="History"/> of the same steps while
    /// no screenshot has been dropped.
    /// </summary>
    public static string NextStep(int imageTokens, bool replyEndPresent = true) =>
        (replyEndPresent ? "\n" : ImEnd + "\n") + UserTurn(imageTokens) + GenerationPrompt;

    /// <summary>
    /// The whole context of a step, for re-prefill: system, task prompt, each past step (its screenshot's user turn
    /// only if among the last <paramref name="maxScreenshots"/> screenshots, the current one included, then its reply),
    /// the current screenshot, the generation prompt.
    /// </summary>
    public static string History(
        string taskPrompt,
        IReadOnlyList<ChatHistoryStep> pastSteps,
        int currentImageTokens,
        int maxScreenshots = DefaultMaxScreenshots,
        string systemPrompt = UiTarsPrompts.SystemPrompt)
    {
        ArgumentNullException.ThrowIfNull(pastSteps);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxScreenshots, 1);
        var builder = new StringBuilder(SystemTurn(systemPrompt)).Append(UserTurn(taskPrompt));
        var firstWithImage = pastSteps.Count - (maxScreenshots - 1);
        for (var i = 0; i < pastSteps.Count; i++)
        {
            if (i >= firstWithImage)
            {
                builder.Append(UserTurn(pastSteps[i].ImageTokens));
            }

            builder.Append(AssistantTurn(pastSteps[i].Reply));
        }

        return builder.Append(UserTurn(currentImageTokens)).Append(GenerationPrompt).ToString();
    }

    private static string Turn(string role, string content)
    {
        ArgumentNullException.ThrowIfNull(content);
        return ImStart + role + "\n" + content + ImEnd + "\n";
    }
}
