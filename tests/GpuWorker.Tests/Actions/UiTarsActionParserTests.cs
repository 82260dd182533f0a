using StarKv.GpuWorker.Actions;

namespace StarKv.GpuWorker.Tests.Actions;

public sealed class UiTarsActionParserTests
{
    // The model saw a 1000×500 image of a 2000×1000 screenshot: every model pixel is two original pixels.
    private static readonly CoordinateMapping Half = CoordinateMapping.For(2000, 1000, 1000, 500);

    public static TheoryData<string, UiTarsAction> EveryActionKind => new()
    {
        { "click(point='<point>100 200</point>')", new ClickAction(new PixelPoint(200, 400)) },
        { "left_double(point='<point>10 20</point>')", new LeftDoubleAction(new PixelPoint(20, 40)) },
        { "right_single(point='<point>999 499</point>')", new RightSingleAction(new PixelPoint(1998, 998)) },
        { "long_press(point='<point>5 6</point>')", new LongPressAction(new PixelPoint(10, 12)) },
        {
            "drag(start_point='<point>1 2</point>', end_point='<point>300 400</point>')",
            new DragAction(new PixelPoint(2, 4), new PixelPoint(600, 800))
        },
        { "hotkey(key='ctrl c')", new HotkeyAction("ctrl c") },
        { "type(content='hello world')", new TypeAction("hello world") },
        { "scroll(point='<point>50 60</point>', direction='down')", new ScrollAction(new PixelPoint(100, 120), ScrollDirection.Down) },
        { "scroll(point='<point>50 60</point>', direction='up')", new ScrollAction(new PixelPoint(100, 120), ScrollDirection.Up) },
        { "scroll(point='<point>50 60</point>', direction='left')", new ScrollAction(new PixelPoint(100, 120), ScrollDirection.Left) },
        { "scroll(point='<point>50 60</point>', direction='right')", new ScrollAction(new PixelPoint(100, 120), ScrollDirection.Right) },
        { "wait()", new WaitAction() },
        { "finished(content='The answer is 42.')", new FinishedAction("The answer is 42.") },
        { "finished()", new FinishedAction(null) },
        { "call_user()", new CallUserAction() },
        { "open_app(app_name='Settings')", new OpenAppAction("Settings") },
        { "press_home()", new PressHomeAction() },
        { "press_back()", new PressBackAction() },
    };

    [Theory]
    [MemberData(nameof(EveryActionKind))]
    public void Parses_every_action_kind(string action, UiTarsAction expected)
    {
        var result = UiTarsActionParser.Parse($"Thought: I should act.\nAction: {action}", Half);

        Assert.True(result.IsSuccess, result.Error?.ToString());
        Assert.Equal("I should act.", result.Thought);
        Assert.Equal(expected, Assert.Single(result.Actions));
    }

    [Theory]
    [MemberData(nameof(EveryActionKind))]
    public void Formatting_then_parsing_gives_the_action_back(string action, UiTarsAction expected)
    {
        _ = action;
        var text = UiTarsActionFormatter.Format(expected, Half);

        var result = UiTarsActionParser.ParseActions(text, Half);

        Assert.True(result.IsSuccess, $"{text}: {result.Error}");
        Assert.Equal(expected, Assert.Single(result.Actions));
    }

    [Fact]
    public void Formats_the_model_own_textual_form()
    {
        Assert.Equal("click(point='<point>100 200</point>')", UiTarsActionFormatter.Format(new ClickAction(new PixelPoint(200, 400)), Half));
        Assert.Equal(
            "drag(start_point='<point>1 2</point>', end_point='<point>300 400</point>')",
            UiTarsActionFormatter.Format(new DragAction(new PixelPoint(2, 4), new PixelPoint(600, 800)), Half));
        Assert.Equal(
            "scroll(point='<point>50 60</point>', direction='down')",
            UiTarsActionFormatter.Format(new ScrollAction(new PixelPoint(100, 120), ScrollDirection.Down), Half));
        Assert.Equal(@"type(content='it\'s \""done\""\n')", UiTarsActionFormatter.Format(new TypeAction("it's \"done\"\n"), Half));
    }

    [Fact]
    public void Whole_response_round_trips_through_the_formatter()
    {
        UiTarsAction[] actions =
        [
            new ClickAction(new PixelPoint(10, 20)),
            new TypeAction("a\\b 'c'\nnext line\n"),
            new HotkeyAction("enter"),
        ];
        var mapping = CoordinateMapping.Identity(800, 600);

        var text = UiTarsActionFormatter.FormatResponse("Click the field, then type.", actions, mapping);
        var result = UiTarsActionParser.Parse(text, mapping);

        Assert.True(result.IsSuccess, result.Error?.ToString());
        Assert.Equal("Click the field, then type.", result.Thought);
        Assert.Equal(actions, result.Actions);
    }

    [Fact]
    public void Type_content_resolves_escapes()
    {
        var result = UiTarsActionParser.ParseActions(@"type(content='line one\nit\'s a \""quote\"" and a back\\slash\n')", Half);

        Assert.True(result.IsSuccess, result.Error?.ToString());
        Assert.Equal(new TypeAction("line one\nit's a \"quote\" and a back\\slash\n"), Assert.Single(result.Actions));
    }

    [Fact]
    public void Double_quoted_values_are_accepted()
    {
        var result = UiTarsActionParser.ParseActions("type(content=\"don't stop\")", Half);

        Assert.Equal(new TypeAction("don't stop"), Assert.Single(result.Actions));
    }

    [Fact]
    public void Several_actions_separated_by_blank_lines()
    {
        const string text = "Thought: Select all and copy.\nAction: click(point='<point>10 10</point>')\n\nhotkey(key='ctrl a')\n\nhotkey(key='ctrl c')<|im_end|>";

        var result = UiTarsActionParser.Parse(text, Half);

        Assert.True(result.IsSuccess, result.Error?.ToString());
        Assert.Equal(
            [new ClickAction(new PixelPoint(20, 20)), new HotkeyAction("ctrl a"), new HotkeyAction("ctrl c")],
            result.Actions);
    }

    [Fact]
    public void Reflection_and_action_summary_variant()
    {
        const string text = "Reflection: The menu did not open.\nAction_Summary: Open the File menu again.\nAction: click(point='<point>20 5</point>')";

        var result = UiTarsActionParser.Parse(text, Half);

        Assert.True(result.IsSuccess, result.Error?.ToString());
        Assert.Equal("The menu did not open.", result.Reflection);
        Assert.Equal("Open the File menu again.", result.Thought);
        Assert.Equal(new ClickAction(new PixelPoint(40, 10)), Assert.Single(result.Actions));
    }

    [Fact]
    public void Multi_line_thought_keeps_its_lines_and_ignores_action_words_inside_lines()
    {
        const string text = "Thought: First line.\nThe next Action: is clicking.\nAction: wait()";

        var result = UiTarsActionParser.Parse(text, Half);

        Assert.True(result.IsSuccess, result.Error?.ToString());
        Assert.Equal("First line.\nThe next Action: is clicking.", result.Thought);
    }

    [Fact]
    public void Older_box_notation_is_normalised_to_1000()
    {
        // 0–1000 space: (500, 250) is the middle column, a quarter down, of the 2000×1000 original.
        var point = UiTarsActionParser.ParseActions("click(start_box='<|box_start|>(500,250)<|box_end|>')", Half);
        var box = UiTarsActionParser.ParseActions("click(start_box='<|box_start|>(400,200,600,300)<|box_end|>')", Half);
        var bare = UiTarsActionParser.ParseActions("drag(start_box='(0,0)', end_box='(1000,1000)')", Half);

        Assert.Equal(new ClickAction(new PixelPoint(1000, 250)), Assert.Single(point.Actions));
        Assert.Equal(new ClickAction(new PixelPoint(1000, 250)), Assert.Single(box.Actions));
        Assert.Equal(new DragAction(new PixelPoint(0, 0), new PixelPoint(1999, 999)), Assert.Single(bare.Actions));
    }

    [Fact]
    public void Tuple_notation_in_resized_pixels_when_asked()
    {
        // Some UI-TARS-1.5 deployments write start_box='(x,y)' in the resized image's pixels.
        var point = UiTarsActionParser.Parse("Thought: t\nAction: click(start_box='(197,125)')", Half, CoordinateSpace.ResizedPixels);
        var box = UiTarsActionParser.ParseActions("click(start_box='<|box_start|>(100,100,200,150)<|box_end|>')", Half, CoordinateSpace.ResizedPixels);

        Assert.Equal(new ClickAction(new PixelPoint(394, 250)), Assert.Single(point.Actions));
        Assert.Equal(new ClickAction(new PixelPoint(300, 250)), Assert.Single(box.Actions));
    }

    [Fact]
    public void Bbox_notation_stands_for_its_centre_in_resized_pixels()
    {
        var result = UiTarsActionParser.ParseActions("click(point='<bbox>100 100 200 150</bbox>')", Half);

        Assert.Equal(new ClickAction(new PixelPoint(300, 250)), Assert.Single(result.Actions));
    }

    [Fact]
    public void Points_outside_the_image_are_clamped()
    {
        var result = UiTarsActionParser.ParseActions("click(point='<point>5000 -20</point>')", Half);

        Assert.Equal(new ClickAction(new PixelPoint(1999, 0)), Assert.Single(result.Actions));
    }

    [Theory]
    [InlineData("Thought: I will click.", "no 'Action:' section")]
    [InlineData("", "empty")]
    [InlineData("Thought: x\nAction:   ", "'Action:' section is empty")]
    [InlineData("Action: tap(point='<point>1 2</point>')", "Unknown action 'tap'")]
    [InlineData("Action: click(point='<point>12 abc</point>')", "not a point")]
    [InlineData("Action: click(point='<point>12</point>')", "not a point")]
    [InlineData("Action: click(point='12, 40')", "not a point")]
    [InlineData("Action: type(content='unterminated)", "Unbalanced quotes")]
    [InlineData("Action: type(content='it's')", "Expected ',' or ')'")]
    [InlineData("Action: click(point='<point>1 2</point>'", "Unbalanced parentheses")]
    [InlineData("Action: click", "Expected '('")]
    [InlineData("Action: click()", "needs argument 'point'")]
    [InlineData("Action: click(point=<point>1 2</point>)", "quoted string")]
    [InlineData("Action: click(point='<point>1 2</point>', button='left')", "no argument 'button'")]
    [InlineData("Action: scroll(point='<point>1 2</point>', direction='sideways')", "expected up, down, left or right")]
    [InlineData("Action: hotkey(key='')", "is empty")]
    [InlineData("Action: click(point='<point>1 2</point>') and then", "Expected '('")]
    [InlineData("Action: wait() )", "Expected an action name")]
    public void Malformed_responses_give_a_clear_error(string text, string expected)
    {
        var result = UiTarsActionParser.Parse(text, Half);

        Assert.False(result.IsSuccess);
        Assert.Empty(result.Actions);
        Assert.NotNull(result.Error);
        Assert.Contains(expected, result.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Error_offsets_point_into_the_response()
    {
        const string text = "Thought: t\nAction: click(point='<point>1 2</point>')\n\nswipe()";

        var result = UiTarsActionParser.Parse(text, Half);

        Assert.Equal(text.IndexOf("swipe", StringComparison.Ordinal), result.Error!.Offset);
    }

    [Fact]
    public void Never_throws_on_arbitrary_text()
    {
        var random = new Random(5);
        const string alphabet = "Thought:Action: click(point='<point>1 2</point>')\\\"'(),=\n <|box_start|>";
        for (var i = 0; i < 2000; i++)
        {
            var chars = new char[random.Next(0, 80)];
            for (var j = 0; j < chars.Length; j++)
            {
                chars[j] = alphabet[random.Next(alphabet.Length)];
            }

            var result = UiTarsActionParser.Parse("Action: " + new string(chars), Half);
            Assert.Equal(result.Error is null, result.IsSuccess);
        }
    }
}
