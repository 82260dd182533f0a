namespace StarKv.GpuWorker.Text;

/// <summary>
/// UI-TARS-1.5's task prompts (computer, mobile, grounding), verbatim from the model's published prompt file
/// as Python renders them: the backslashes in the escape hints are literal characters of the prompt.
/// The instruction (and, where present, the Thought language) is filled in by the methods.
/// </summary>
public static class UiTarsPrompts
{
    /// <summary>The system message of the UI-TARS agents.</summary>
    public const string SystemPrompt = "You are a helpful assistant.";

    public const string DefaultLanguage = "English";

    private const string Intro = "You are a GUI agent. You are given a task and your action history, with screenshots. You need to perform the next action to complete the task.";

    private const string Note =
        "## Note\n" +
        "- Use {language} in `Thought` part.\n" +
        "- Write a small plan and finally summarize your next action (with its target element) in one sentence in `Thought` part.\n";

    private const string FinishedHint = "finished(content='xxx') # Use escape characters \\', \\\", and \\n in content part to ensure we can parse the content in normal python string format.\n";

    /// <summary>The desktop prompt template, with <c>{language}</c> and <c>{instruction}</c> placeholders.</summary>
    public const string ComputerTemplate =
        Intro + "\n" +
        "\n" +
        "## Output Format\n" +
        "```\n" +
        "Thought: ...\n" +
        "Action: ...\n" +
        "```\n" +
        "\n" +
        "## Action Space\n" +
        "\n" +
        "click(point='<point>x1 y1</point>')\n" +
        "left_double(point='<point>x1 y1</point>')\n" +
        "right_single(point='<point>x1 y1</point>')\n" +
        "drag(start_point='<point>x1 y1</point>', end_point='<point>x2 y2</point>')\n" +
        "hotkey(key='ctrl c') # Split keys with a space and use lowercase. Also, do not use more than 3 keys in one hotkey action.\n" +
        "type(content='xxx') # Use escape characters \\', \\\", and \\n in content part to ensure we can parse the content in normal python string format. If you want to submit your input, use \\n at the end of content. \n" +
        "scroll(point='<point>x1 y1</point>', direction='down or up or right or left') # Show more information on the `direction` side.\n" +
        "wait() #Sleep for 5s and take a screenshot to check for any changes.\n" +
        FinishedHint +
        "\n" +
        "\n" +
        Note +
        "\n" +
        "## User Instruction\n" +
        "{instruction}\n";

    /// <summary>The mobile prompt template, with <c>{language}</c> and <c>{instruction}</c> placeholders.</summary>
    public const string MobileTemplate =
        Intro + " \n" +
        "## Output Format\n" +
        "```\n" +
        "Thought: ...\n" +
        "Action: ...\n" +
        "```\n" +
        "## Action Space\n" +
        "\n" +
        "click(point='<point>x1 y1</point>')\n" +
        "long_press(point='<point>x1 y1</point>')\n" +
        "type(content='') #If you want to submit your input, use \"\\n\" at the end of `content`.\n" +
        "scroll(point='<point>x1 y1</point>', direction='down or up or right or left')\n" +
        "open_app(app_name='')\n" +
        "drag(start_point='<point>x1 y1</point>', end_point='<point>x2 y2</point>')\n" +
        "press_home()\n" +
        "press_back()\n" +
        FinishedHint +
        "\n" +
        "\n" +
        Note +
        "\n" +
        "## User Instruction\n" +
        "{instruction}\n";

    /// <summary>The grounding-only prompt template (the answer is a single <c>click</c>), with an <c>{instruction}</c> placeholder.</summary>
    public const string GroundingTemplate =
        Intro + " \n" +
        "\n" +
        "## Output Format\n" +
        "\n" +
        "Action: ...\n" +
        "\n" +
        "\n" +
        "## Action Space\n" +
        "click(point='<point>x1 y1</point>'')\n" +
        "\n" +
        "## User Instruction\n" +
        "{instruction}";

    /// <summary>The desktop prompt for <paramref name="instruction"/>.</summary>
    public static string Computer(string instruction, string language = DefaultLanguage) => Fill(ComputerTemplate, instruction, language);

    /// <summary>The mobile prompt for <paramref name="instruction"/>.</summary>
    public static string Mobile(string instruction, string language = DefaultLanguage) => Fill(MobileTemplate, instruction, language);

    /// <summary>The grounding prompt for <paramref name="instruction"/>.</summary>
    public static string Grounding(string instruction) => Fill(GroundingTemplate, instruction, DefaultLanguage);

    private static string Fill(string template, string instruction, string language)
    {
        ArgumentNullException.ThrowIfNull(instruction);
        ArgumentNullException.ThrowIfNull(language);
        // The language first: an instruction may itself contain the text "{language}".
        return template.Replace("{language}", language, StringComparison.Ordinal).Replace("{instruction}", instruction, StringComparison.Ordinal);
    }
}
