using StarKv.Eval.Core.Benchmarks;
using StarKv.Eval.Core.Graders;
using StarKv.GpuWorker.Actions;
using static StarKv.Eval.Tests.Graders.Predictions;

namespace StarKv.Eval.Tests.Graders;

public sealed class ScreenSpotGraderTests
{
    private readonly ScreenSpotGrader _grader = new();

    // 1920×1080 is smart-resized to 1932×1092 (docs/benchmarks.md §5): <point>966 546</point> is (960, 540) of the original.
    [Theory]
    [InlineData(955, 500, 962, 600, true)] // inside, although 966 > 962: the point is mapped back first
    [InlineData(960, 540, 1000, 600, true)] // on the left and top edges
    [InlineData(900, 500, 960, 540, true)] // on the right and bottom edges
    [InlineData(961, 500, 1000, 600, false)] // one pixel right of it
    [InlineData(900, 541, 1000, 600, false)] // one pixel below it
    public void Point_in_box_is_judged_in_original_pixels_with_inclusive_edges(double x1, double y1, double x2, double y2, bool expected)
    {
        var grade = _grader.Grade(Answer("click(point='<point>966 546</point>')", 1920, 1080, 1932, 1092), Step(new ScreenSpotTruth(new BoxXyxy(x1, y1, x2, y2), null, null)));
        Assert.Equal(expected, grade.Correct);
    }

    [Fact]
    public void ScreenSpot_Pro_normalises_by_the_annotated_image_size()
    {
        // The model saw a 1000×500 image; the annotation says the screenshot is 2000×1000 (the box is [1000, 500, 1010, 510] there).
        var truth = new ScreenSpotTruth(new BoxXyxy(1000, 500, 1010, 510), 2000, 1000);
        Assert.True(_grader.Grade(Answer("click(point='<point>500 250</point>')", 1000, 500), Step(truth)).Correct);
        Assert.False(_grader.Grade(Answer("click(point='<point>506 250</point>')", 1000, 500), Step(truth)).Correct);
    }

    [Theory]
    [InlineData("type(content='search')")]
    [InlineData("hotkey(key='ctrl c')")]
    [InlineData("click(point='nowhere')")]
    public void An_answer_without_a_point_is_wrong_format(string action)
    {
        var grade = _grader.Grade(Answer(action, 100, 100), Step(new ScreenSpotTruth(new BoxXyxy(0, 0, 100, 100), null, null)));
        Assert.False(grade.Correct);
        Assert.StartsWith("wrong format", grade.Note, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tuple_is_read_in_resized_pixels_like_a_point()
    {
        var truth = new ScreenSpotTruth(new BoxXyxy(955, 500, 962, 600), null, null);
        Assert.True(_grader.Grade(Answer("click(start_box='(966,546)')", 1920, 1080, 1932, 1092), Step(truth)).Correct);
    }
}

public sealed class SyntheticGraderTests
{
    private readonly SyntheticGrader _grader = new();

    // 1280×800 seen at 1288×812: <point>966 609</point> is exactly (960, 600) of the original.
    [Theory]
    [InlineData(900, 550, 960, 600, true)] // bottom-right corner
    [InlineData(960, 600, 1000, 700, true)] // top-left corner
    [InlineData(900, 550, 959.9, 600, false)]
    [InlineData(900, 600.1, 1000, 700, false)]
    public void Click_needs_the_mapped_point_inside_the_box_edges_inclusive(double x1, double y1, double x2, double y2, bool expected)
    {
        var truth = new SyntheticTruth(SyntheticActionType.Click, new BoxXyxy(x1, y1, x2, y2), null, null, 1280, 800);
        Assert.Equal(expected, _grader.Grade(Answer("click(point='<point>966 609</point>')", 1280, 800, 1288, 812), Step(truth)).Correct);
        Assert.Equal(expected, _grader.Grade(Answer("click(start_box='(966,609)')", 1280, 800, 1288, 812), Step(truth)).Correct);
    }

    [Fact]
    public void Click_needs_the_click_verb()
    {
        var truth = new SyntheticTruth(SyntheticActionType.Click, new BoxXyxy(0, 0, 1280, 800), null, null, 1280, 800);
        Assert.False(_grader.Grade(Answer("left_double(point='<point>10 10</point>')", 1280, 800), Step(truth)).Correct);
    }

    [Theory]
    [InlineData("type(content='  13800000000 \\n')", true)]
    [InlineData("type(content='1380000000')", false)]
    [InlineData("click(point='<point>10 10</point>')", false)]
    public void Type_compares_trimmed_content(string action, bool expected)
    {
        var truth = new SyntheticTruth(SyntheticActionType.Type, null, "13800000000", null, 100, 100);
        Assert.Equal(expected, _grader.Grade(Answer(action, 100, 100), Step(truth)).Correct);
    }

    [Fact]
    public void Scroll_needs_the_same_direction_and_finished_the_verb()
    {
        var scroll = new SyntheticTruth(SyntheticActionType.Scroll, null, null, ScrollDirection.Down, 100, 100);
        Assert.True(_grader.Grade(Answer("scroll(point='<point>5 5</point>', direction='down')", 100, 100), Step(scroll)).Correct);
        Assert.False(_grader.Grade(Answer("scroll(point='<point>5 5</point>', direction='up')", 100, 100), Step(scroll)).Correct);
        var finished = new SyntheticTruth(SyntheticActionType.Finished, null, null, null, 100, 100);
        Assert.True(_grader.Grade(Answer("finished(content='done')", 100, 100), Step(finished)).Correct);
        Assert.False(_grader.Grade(Answer("wait()", 100, 100), Step(finished)).Correct);
        Assert.False(_grader.Grade(ModelPrediction.Parse("no action here", 100, 100, 100, 100, CoordinateSpace.ResizedPixels), Step(finished)).Correct);
    }
}
