using StarKv.GpuWorker.Text;

namespace StarKv.GpuWorker.Tests.Text;

public sealed class Qwen25VlChatTemplateTests
{
    private const string System = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n";

    [Fact]
    public void An_image_is_its_pad_tokens_between_vision_markers()
    {
        Assert.Equal("<|vision_start|><|image_pad|><|image_pad|><|image_pad|><|vision_end|>", Qwen25VlChatTemplate.Image(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Qwen25VlChatTemplate.Image(0));
    }

    [Fact]
    public void A_single_turn_puts_the_image_before_the_text()
    {
        Assert.Equal(
            System +
            "<|im_start|>user\n<|vision_start|><|image_pad|><|image_pad|><|vision_end|>find the search box<|im_end|>\n" +
            "<|im_start|>assistant\n",
            Qwen25VlChatTemplate.SingleTurn("find the search box", 2));
    }

    [Fact]
    public void The_first_step_has_the_task_prompt_and_the_screenshot_as_separate_user_turns()
    {
        Assert.Equal(
            System +
            "<|im_start|>user\nTASK<|im_end|>\n" +
            "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|><|im_end|>\n" +
            "<|im_start|>assistant\n",
            Qwen25VlChatTemplate.FirstStep("TASK", 1));
        Assert.StartsWith("<|im_start|>system\nBe brief.<|im_end|>\n", Qwen25VlChatTemplate.FirstStep("TASK", 1, "Be brief."), StringComparison.Ordinal);
    }

    [Fact]
    public void A_later_step_closes_the_reply_and_adds_the_new_screenshot()
    {
        Assert.Equal(
            "\n<|im_start|>user\n<|vision_start|><|image_pad|><|image_pad|><|vision_end|><|im_end|>\n<|im_start|>assistant\n",
            Qwen25VlChatTemplate.NextStep(2));
        Assert.Equal(
            "<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|><|im_end|>\n<|im_start|>assistant\n",
            Qwen25VlChatTemplate.NextStep(1, replyEndPresent: false));
    }

    [Fact]
    public void The_history_keeps_only_the_last_screenshots()
    {
        var steps = new[] { new ChatHistoryStep(1, "R0"), new ChatHistoryStep(1, "R1"), new ChatHistoryStep(2, "R2") };

        // Three screenshots at most: the current one and the last two past steps'.
        Assert.Equal(
            System +
            "<|im_start|>user\nTASK<|im_end|>\n" +
            "<|im_start|>assistant\nR0<|im_end|>\n" +
            "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|><|im_end|>\n" +
            "<|im_start|>assistant\nR1<|im_end|>\n" +
            "<|im_start|>user\n<|vision_start|><|image_pad|><|image_pad|><|vision_end|><|im_end|>\n" +
            "<|im_start|>assistant\nR2<|im_end|>\n" +
            "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|><|im_end|>\n" +
            "<|im_start|>assistant\n",
            Qwen25VlChatTemplate.History("TASK", steps, 1, maxScreenshots: 3));

        var onlyCurrent = Qwen25VlChatTemplate.History("TASK", steps, 1, maxScreenshots: 1);
        Assert.Equal(1, CountOf(onlyCurrent, "<|vision_start|>"));
        Assert.Equal(4, CountOf(Qwen25VlChatTemplate.History("TASK", steps, 1), "<|vision_start|>"));
    }

    [Fact]
    public void Appending_steps_incrementally_renders_the_same_text_as_the_history()
    {
        var replies = new[] { "Thought: a\nAction: wait()", "Thought: b\nAction: click(point='<point>1 2</point>')", "Thought: c\nAction: finished(content='ok')" };
        var images = new[] { 3, 1, 2, 4 };
        var incremental = Qwen25VlChatTemplate.FirstStep("TASK", images[0]);
        var past = new List<ChatHistoryStep>();
        for (var i = 0; i < replies.Length; i++)
        {
            incremental += replies[i] + "<|im_end|>" + Qwen25VlChatTemplate.NextStep(images[i + 1]);
            past.Add(new ChatHistoryStep(images[i], replies[i]));
        }

        Assert.Equal(Qwen25VlChatTemplate.History("TASK", past, images[^1]), incremental);
    }

    private static int CountOf(string text, string part) => (text.Length - text.Replace(part, "", StringComparison.Ordinal).Length) / part.Length;
}

public sealed class UiTarsPromptsTests
{
    [Fact]
    public void The_computer_prompt_is_the_published_text_with_the_instruction_filled_in()
    {
        var prompt = UiTarsPrompts.Computer("Open the {language} settings");
        var lines = prompt.Split('\n');
        Assert.Equal("You are a GUI agent. You are given a task and your action history, with screenshots. You need to perform the next action to complete the task.", lines[0]);
        Assert.Equal(["", "## Output Format", "```", "Thought: ...", "Action: ...", "```", "", "## Action Space", ""], lines[1..10]);
        Assert.Contains("hotkey(key='ctrl c') # Split keys with a space and use lowercase. Also, do not use more than 3 keys in one hotkey action.", lines);
        Assert.Contains(@"type(content='xxx') # Use escape characters \', \"", and \n in content part to ensure we can parse the content in normal python string format. If you want to submit your input, use \n at the end of content. ", lines);
        Assert.Contains("wait() #Sleep for 5s and take a screenshot to check for any changes.", lines);
        Assert.Contains("- Use English in `Thought` part.", lines);
        Assert.EndsWith("\n\n## User Instruction\nOpen the {language} settings\n", prompt, StringComparison.Ordinal);
    }

    [Fact]
    public void The_mobile_prompt_has_the_mobile_actions()
    {
        var prompt = UiTarsPrompts.Mobile("add an event", "Chinese");
        Assert.StartsWith("You are a GUI agent. You are given a task and your action history, with screenshots. You need to perform the next action to complete the task. \n## Output Format\n```\n", prompt, StringComparison.Ordinal);
        Assert.Contains("\nlong_press(point='<point>x1 y1</point>')\n", prompt, StringComparison.Ordinal);
        Assert.Contains("\nopen_app(app_name='')\n", prompt, StringComparison.Ordinal);
        Assert.Contains("\npress_home()\npress_back()\n", prompt, StringComparison.Ordinal);
        Assert.Contains("type(content='') #If you want to submit your input, use \"\\n\" at the end of `content`.", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("hotkey", prompt, StringComparison.Ordinal);
        Assert.Contains("- Use Chinese in `Thought` part.", prompt, StringComparison.Ordinal);
        Assert.EndsWith("## User Instruction\nadd an event\n", prompt, StringComparison.Ordinal);
    }

    [Fact]
    public void The_grounding_prompt_asks_for_a_click_only()
    {
        Assert.Equal(
            "You are a GUI agent. You are given a task and your action history, with screenshots. You need to perform the next action to complete the task. \n\n" +
            "## Output Format\n\nAction: ...\n\n\n## Action Space\nclick(point='<point>x1 y1</point>'')\n\n## User Instruction\nsearch event",
            UiTarsPrompts.Grounding("search event"));
    }
}
