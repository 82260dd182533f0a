using StarKv.SyntheticGui.Screens;
using StarKv.SyntheticGui.Tasks;

namespace StarKv.SyntheticGui.Tests;

public sealed class TaskTests
{
    private static IEnumerable<SuiteTask> Tasks(SuiteSplit split, int count) =>
        Enumerable.Range(0, count).Select(i => TaskGenerator.Generate(SuiteSeeds.For(split, i), new SuiteOptions()));

    [Fact]
    public void Train_and_test_seeds_never_meet()
    {
        var train = Enumerable.Range(0, 20_000).Select(i => SuiteSeeds.For(SuiteSplit.Train, i)).ToHashSet();
        var test = Enumerable.Range(0, 20_000).Select(i => SuiteSeeds.For(SuiteSplit.Test, i)).ToHashSet();
        Assert.Equal(20_000, train.Count);
        Assert.Equal(20_000, test.Count);
        Assert.Empty(train.Intersect(test));
        Assert.All(train, s => Assert.Equal(SuiteSplit.Train, SuiteSeeds.SplitOf(s)));
        Assert.All(test, s => Assert.Equal(SuiteSplit.Test, SuiteSeeds.SplitOf(s)));
    }

    [Fact]
    public void A_seed_always_gives_the_same_task()
    {
        var seed = SuiteSeeds.For(SuiteSplit.Test, 17);
        var a = TaskGenerator.Generate(seed, new SuiteOptions());
        var b = TaskGenerator.Generate(seed, new SuiteOptions());
        Assert.Equal(Layout.SyntheticLayoutWriter.TaskLine(a), Layout.SyntheticLayoutWriter.TaskLine(b));
        Assert.Equal(a.Steps.Select(s => s.Reply(s.Screen.Width, s.Screen.Height)), b.Steps.Select(s => s.Reply(s.Screen.Width, s.Screen.Height)));
    }

    [Fact]
    public void The_mix_holds_every_kind_and_every_action_verb()
    {
        var tasks = Tasks(SuiteSplit.Test, 300).ToList();
        Assert.InRange(tasks.Count(t => t.Kind == TaskKind.Grounding), 90, 150);
        Assert.InRange(tasks.Count(t => t.Kind == TaskKind.Memory), 90, 150);
        Assert.InRange(tasks.Count(t => t.Kind == TaskKind.Action), 30, 90);
        var verbs = tasks.SelectMany(t => t.Steps).Select(s => s.Expected.Verb).ToHashSet();
        Assert.Equal(["click", "finished", "scroll", "type"], verbs.Order());
    }

    [Fact]
    public void A_grounding_target_is_one_visible_widget_named_by_the_instruction()
    {
        foreach (var task in Tasks(SuiteSplit.Test, 200).Where(t => t.Kind == TaskKind.Grounding))
        {
            var step = Assert.Single(task.Steps);
            var click = Assert.IsType<ClickExpected>(step.Expected);
            var target = Assert.Single(step.Screen.Visible, w => w.Box == click.Box);
            Assert.True(step.Screen.IsUnique(target));
            Assert.Contains(target.Kind == WidgetKind.Icon ? target.Label : $"{target.Label}", step.Instruction, StringComparison.Ordinal);
            Assert.Contains(target.Description, step.Thought, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_position_recall_names_a_widget_that_only_its_source_screen_shows()
    {
        var seen = 0;
        foreach (var task in Tasks(SuiteSplit.Test, 400).Where(t => t.Kind == TaskKind.Memory && t.Steps[^1].SourceStep is not null))
        {
            Assert.InRange(task.Steps.Count, 3, 5);
            var last = task.Steps[^1];
            var source = last.SourceStep!.Value;
            Assert.InRange(source, 0, task.Steps.Count - 2);
            var box = Assert.IsType<ClickExpected>(last.Expected).Box;
            var widget = Assert.Single(task.Steps[source].Screen.Widgets, w => w.Box == box);
            Assert.Contains(widget.Description, last.Instruction, StringComparison.Ordinal);
            Assert.Contains(Instructions.ScreensAgo(task.Steps.Count - 1 - source), last.Instruction, StringComparison.Ordinal);
            for (var s = 0; s < task.Steps.Count; s++)
            {
                if (s != source)
                {
                    Assert.DoesNotContain(task.Steps[s].Screen.Widgets, w => w.Description == widget.Description);
                }
            }

            seen++;
        }

        Assert.True(seen >= 30);
    }

    [Fact]
    public void A_selection_recall_has_one_selected_row_in_the_whole_task_and_the_last_screen_lists_that_file()
    {
        var seen = 0;
        foreach (var task in Tasks(SuiteSplit.Test, 400).Where(t => t.Kind == TaskKind.Memory && t.Steps[^1].SourceStep is null))
        {
            var selected = task.Steps.SelectMany((s, i) => s.Screen.Widgets.Where(w => w.Kind == WidgetKind.ListRow && w.Highlighted).Select(w => (Step: i, Widget: w))).ToList();
            var (step, row) = Assert.Single(selected);
            Assert.True(step < task.Steps.Count - 1);
            var last = task.Steps[^1];
            var box = Assert.IsType<ClickExpected>(last.Expected).Box;
            var target = Assert.Single(last.Screen.Widgets, w => w.Box == box);
            Assert.Equal(row.Label, target.Label);
            Assert.False(target.Highlighted);
            Assert.Contains(Instructions.ScreensAgo(task.Steps.Count - 1 - step), last.Instruction, StringComparison.Ordinal);
            seen++;
        }

        Assert.True(seen >= 20);
    }

    [Fact]
    public void A_reply_writes_the_box_centre_in_resized_pixels()
    {
        var step = new SuiteStep(
            new Screen(Platform.Desktop, Theme.Light, 336, 224, "Home", []),
            "Click the red 'Save' button.",
            new ClickExpected(new PixelBox(100, 50, 159, 77)),
            "I click the red 'Save' button.");
        Assert.Equal("Thought: I click the red 'Save' button.\nAction: click(start_box='(129,63)')", step.Reply(336, 224));
        // Half the size: the centre pixel (129, 63) covers [129, 130) × [63, 64), whose centre maps to (64.75, 31.75).
        Assert.Equal("Thought: I click the red 'Save' button.\nAction: click(start_box='(64,31)')", step.Reply(168, 112));
        var scroll = step with { Expected = new ScrollExpected("down", new PixelBox(0, 0, 99, 99)) };
        Assert.EndsWith("scroll(start_box='(49,49)', direction='down')", scroll.Reply(336, 224), StringComparison.Ordinal);
        Assert.EndsWith("type(content='hello')", (step with { Expected = new TypeExpected("hello") }).Reply(336, 224), StringComparison.Ordinal);
        Assert.EndsWith("finished(content='done')", (step with { Expected = new FinishedExpected() }).Reply(336, 224), StringComparison.Ordinal);
    }
}
