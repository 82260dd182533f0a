using StarKv.Eval.Core.Benchmarks;
using StarKv.Eval.Core.Graders;
using static StarKv.Eval.Tests.Graders.Predictions;

namespace StarKv.Eval.Tests.Graders;

public sealed class AgentNetBenchGraderTests
{
    private readonly AgentNetBenchGrader _grader = new();

    private static AgentNetAction Click(double x, double y, params BoxXyxy[] boxes) => new("click", x, y, boxes);

    private static AgentNetTruth Truth(params AgentNetAction[] actions) => new(actions, [], false);

    // Answers are on a 1000×1000 image seen at its own size, so <point>x y</point> is the relative point x/1000, y/1000.
    private double Score(AgentNetTruth truth, string action) => _grader.Grade(Answer(action, 1000, 1000), Step(truth)).Score;

    [Fact]
    public void A_click_inside_a_box_scores_one()
    {
        Assert.Equal(1.0, Score(Truth(Click(0.9, 0.9, BoxXyxy.FromXywh(0.1, 0.1, 0.1, 0.1))), "click(point='<point>200 200</point>')"));
    }

    [Fact]
    public void A_click_outside_scores_by_distance()
    {
        // d = √(0.03² + 0.04²) = 0.05; exp(−120 · (0.05 − 0.01·√2)) = 0.0135287 (computed by hand).
        Assert.Equal(0.013528675635406995, Score(Truth(Click(0.5, 0.5)), "click(point='<point>530 540</point>')"), 12);
        // Within 0.01·√2 of the position (d ≈ 0.0071): 1.
        Assert.Equal(1.0, Score(Truth(Click(0.5, 0.5)), "click(point='<point>505 505</point>')"));
    }

    [Theory]
    [InlineData("helo", 1.0)] // similarity 1 − 1/5 = 0.8
    [InlineData("help!", 0.75)] // 1 − 2/5 = 0.6, scaled by 1/0.8
    [InlineData("HELLO  ", 1.0)] // lower-cased and trimmed
    [InlineData("xyzzy", 0.0)]
    public void Write_scores_edit_similarity(string typed, double expected)
    {
        Assert.Equal(expected, Score(Truth(new AgentNetAction("write", Text: "hello")), $"type(content='{typed}')"), 12);
    }

    [Fact]
    public void Write_then_enter_merges_and_types_with_a_newline()
    {
        var truth = Truth(new AgentNetAction("write", Text: "hello"), new AgentNetAction("press", Keys: ["Enter"]));
        Assert.Equal(1.0, Score(truth, "type(content='hello\\n')"));
        Assert.Equal("hello", truth.Actions[0].Text); // the merge works on a copy
    }

    [Fact]
    public void Keys_compare_as_lower_case_sets()
    {
        Assert.Equal(1.0, Score(Truth(new AgentNetAction("hotkey", Keys: ["Ctrl", "C"])), "hotkey(key='c ctrl')"));
        Assert.Equal(1.0, Score(Truth(new AgentNetAction("press", Keys: ["enter"])), "hotkey(key='enter')"));
        Assert.Equal(0.0, Score(Truth(new AgentNetAction("hotkey", Keys: ["ctrl", "v"])), "hotkey(key='ctrl c')"));
    }

    [Fact]
    public void Terminate_needs_the_same_status()
    {
        var truth = Truth(new AgentNetAction("terminate", Status: "success"));
        Assert.Equal(1.0, Score(truth, "finished(content='success')"));
        Assert.Equal(0.0, Score(truth, "finished(content='done')"));
    }

    [Fact]
    public void A_first_action_of_another_type_scores_zero_and_types_average_separately()
    {
        Assert.Equal(0.0, Score(Truth(Click(0.2, 0.2)), "type(content='x')"));
        var truth = Truth(Click(0.2, 0.2, BoxXyxy.FromXywh(0.1, 0.1, 0.2, 0.2)), new AgentNetAction("write", Text: "abc"));
        Assert.Equal(0.5, Score(truth, "click(point='<point>200 200</point>')\n\ntype(content='xyz')"), 12);
        Assert.Equal(1.0, Score(Truth(new AgentNetAction("scroll", 0.5, 0.5)), "scroll(point='<point>1 1</point>', direction='up')"));
    }

    [Fact]
    public void An_alternative_option_can_raise_the_score()
    {
        var truth = new AgentNetTruth([new AgentNetAction("write", Text: "abc")], [[Click(0.2, 0.2, BoxXyxy.FromXywh(0.1, 0.1, 0.2, 0.2))]], false);
        var grade = _grader.Grade(Answer("click(point='<point>200 200</point>')", 1000, 1000), Step(truth));
        Assert.Equal(1.0, grade.Score);
        Assert.Equal("alternative", grade.Note);
    }

    [Theory]
    [InlineData("kitten", "sitting", 3)]
    [InlineData("", "abc", 3)]
    [InlineData("flaw", "lawn", 2)]
    public void Edit_distance(string a, string b, int expected)
    {
        Assert.Equal(expected, AgentNetBenchGrader.EditDistance(a, b));
    }
}
