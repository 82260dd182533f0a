using StarKv.Eval.Core.Benchmarks;
using StarKv.Eval.Core.Graders;
using static StarKv.Eval.Tests.Graders.Predictions;

namespace StarKv.Eval.Tests.Graders;

public sealed class AndroidControlGraderTests
{
    // A 1000×2000 screen seen at its own size; a large container and a small button inside it.
    private static readonly AndroidElement[] Elements =
    [
        new(new BoxXyxy(0, 0, 1000, 2000), "", "container"),
        new(new BoxXyxy(100, 100, 300, 200), "Camera", ""),
        new(new BoxXyxy(0, 1800, 200, 2000), "", "Navigate up"),
    ];

    private static EvalStep Truth(AndroidAction action, IReadOnlyList<AndroidElement>? elements = null, AndroidPointFrame frame = AndroidPointFrame.Pixels) =>
        Step(new AndroidControlTruth(action, frame, elements ?? Elements));

    [Theory]
    [InlineData("click(point='<point>250 190</point>')", true)] // in the smallest element under the ground truth
    [InlineData("click(point='<point>300 200</point>')", true)] // on its corner
    [InlineData("click(point='<point>400 150</point>')", false)] // only in the container
    [InlineData("long_press(point='<point>250 190</point>')", false)] // other type
    public void Element_box_uses_the_smallest_element_containing_the_ground_truth_point(string action, bool expected)
    {
        var grade = new AndroidElementBoxGrader().Grade(Answer(action, 1000, 2000), Truth(new AndroidAction("click", 150, 150)));
        Assert.Equal(expected, grade.Correct);
    }

    [Theory]
    [InlineData("type(content='coffee\\n')", true)]
    [InlineData("type(content='Coffee')", false)]
    public void Element_box_grades_typing_by_its_text(string action, bool expected)
    {
        Assert.Equal(expected, new AndroidElementBoxGrader().Grade(Answer(action, 1000, 2000), Truth(new AndroidAction("type_text", 150, 150, Text: "coffee"))).Correct);
    }

    [Theory]
    [InlineData("open_app", "click(point='<point>200 150</point>')", true)] // on the element labelled Camera
    [InlineData("open_app", "click(point='<point>600 600</point>')", false)]
    [InlineData("open_app", "open_app(app_name='camera')", true)]
    [InlineData("navigate_back", "press_back()", true)]
    [InlineData("navigate_back", "click(point='<point>50 1900</point>')", true)] // "Navigate up" contains "back"? no: see below
    [InlineData("status", "finished(content='The task is infeasible')", true)]
    [InlineData("status", "finished(content='done')", false)]
    [InlineData("scroll", "scroll(point='<point>5 5</point>', direction='down')", true)]
    [InlineData("scroll", "scroll(point='<point>5 5</point>', direction='up')", false)]
    [InlineData("navigate_home", "press_home()", true)]
    [InlineData("wait", "press_home()", false)]
    public void Element_box_equivalences(string type, string action, bool expected)
    {
        var gt = type switch
        {
            "open_app" => new AndroidAction("open_app", AppName: "Camera"),
            "status" => new AndroidAction("status", GoalStatus: "infeasible"),
            "scroll" => new AndroidAction("scroll", Direction: "down"),
            _ => new AndroidAction(type),
        };
        var elements = type == "navigate_back" ? [new AndroidElement(new BoxXyxy(0, 1800, 200, 2000), "", "Back")] : Elements;
        Assert.Equal(expected, new AndroidElementBoxGrader().Grade(Answer(action, 1000, 2000), Truth(gt, elements)).Correct);
    }

    [Theory]
    [InlineData("click(point='<point>639 1000</point>')", true)] // 139 of 1000 horizontally
    [InlineData("click(point='<point>500 1279</point>')", true)] // 139.5 of 1000 vertically (0.14 · 2000 = 280 px)
    [InlineData("click(point='<point>500 1290</point>')", false)] // 145 of 1000
    [InlineData("click(point='<point>600 1200</point>')", false)] // √(100² + 100²) ≈ 141.4
    [InlineData("long_press(point='<point>500 1000</point>')", false)]
    public void Distance_rule_is_140_of_the_0_to_1000_frame(string action, bool expected)
    {
        var grade = new AndroidDistanceGrader().Grade(Answer(action, 1000, 2000), Truth(new AndroidAction("click", 500, 1000), []));
        Assert.Equal(expected, grade.Correct);
    }

    [Fact]
    public void Distance_rule_reads_the_OS_Atlas_frame_and_first_word_quirk()
    {
        var grader = new AndroidDistanceGrader();
        Assert.True(grader.Grade(Answer("click(point='<point>520 1000</point>')", 1000, 2000), Truth(new AndroidAction("click", 500, 500), [], AndroidPointFrame.Normalized1000)).Correct);
        Assert.True(grader.Grade(Answer("type(content='coffee shops')", 1000, 2000), Truth(new AndroidAction("type_text", Text: "coffee beans"), [])).Correct);
        Assert.False(grader.Grade(Answer("type(content='tea shops')", 1000, 2000), Truth(new AndroidAction("type_text", Text: "coffee shops"), [])).Correct);
    }

    [Theory]
    [InlineData("click(point='<point>315 150</point>')", true)] // inside the target inflated by max(8, 0.015 · 1000) = 15
    [InlineData("long_press(point='<point>240 250</point>')", true)] // L∞ distance max(90, 100) = 100 = max(72, 0.10 · 1000)
    [InlineData("click(point='<point>240 251</point>')", false)]
    [InlineData("type(content='x')", false)]
    public void Relaxed_rule_inflates_the_box_and_falls_back_to_distance(string action, bool expected)
    {
        var grade = new AndroidRelaxedGrader().Grade(Answer(action, 1000, 2000), Truth(new AndroidAction("click", 150, 150)));
        Assert.Equal(expected, grade.Correct);
    }

    [Theory]
    [InlineData("Don't  Stop", "dont stop", true)]
    [InlineData("ＡＢＣ", "abc", true)] // NFKC folds full-width letters
    [InlineData("12345", "12355", true)]
    [InlineData("12345", "12366", false)]
    [InlineData("coffee shop near me", "coffee shop", true)]
    [InlineData("abc", "abcd", false)]
    [InlineData("a b@mail.com", "ab@mail.com", true)]
    public void Relaxed_text_match(string predicted, string expected, bool match)
    {
        Assert.Equal(match, AndroidRelaxedGrader.TextMatches(predicted, expected));
    }

    [Fact]
    public void Relaxed_scroll_needs_only_the_axis()
    {
        var grader = new AndroidRelaxedGrader();
        Assert.True(grader.Grade(Answer("scroll(point='<point>5 5</point>', direction='up')", 1000, 2000), Truth(new AndroidAction("scroll", Direction: "down"))).Correct);
        Assert.False(grader.Grade(Answer("scroll(point='<point>5 5</point>', direction='left')", 1000, 2000), Truth(new AndroidAction("scroll", Direction: "down"))).Correct);
    }
}
