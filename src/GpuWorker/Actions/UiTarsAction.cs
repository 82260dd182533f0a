namespace StarKv.GpuWorker.Actions;

/// <summary>The direction of a <see cref="ScrollAction"/>.</summary>
public enum ScrollDirection
{
    Up,
    Down,
    Left,
    Right,
}

/// <summary>
/// One action of the UI-TARS-1.5 action space (computer and mobile). Points are pixels of the original screenshot,
/// already mapped back from the model's coordinate space by a <see cref="CoordinateMapping"/>.
/// </summary>
public abstract record UiTarsAction
{
    /// <summary>The verb the model writes for this action, for example <c>click</c> or <c>press_home</c>.</summary>
    public abstract string Verb { get; }
}

/// <summary><c>click(point=…)</c>: a left click.</summary>
public sealed record ClickAction(PixelPoint At) : UiTarsAction
{
    public override string Verb => "click";
}

/// <summary><c>left_double(point=…)</c>: a left double click.</summary>
public sealed record LeftDoubleAction(PixelPoint At) : UiTarsAction
{
    public override string Verb => "left_double";
}

/// <summary><c>right_single(point=…)</c>: a right click.</summary>
public sealed record RightSingleAction(PixelPoint At) : UiTarsAction
{
    public override string Verb => "right_single";
}

/// <summary><c>long_press(point=…)</c>: a long touch (mobile).</summary>
public sealed record LongPressAction(PixelPoint At) : UiTarsAction
{
    public override string Verb => "long_press";
}

/// <summary><c>drag(start_point=…, end_point=…)</c>: press at <see cref="From"/>, release at <see cref="To"/>.</summary>
public sealed record DragAction(PixelPoint From, PixelPoint To) : UiTarsAction
{
    public override string Verb => "drag";
}

/// <summary><c>hotkey(key='ctrl c')</c>: keys pressed together, space-separated, lower case as the model writes them.</summary>
public sealed record HotkeyAction(string Key) : UiTarsAction
{
    public override string Verb => "hotkey";
}

/// <summary><c>type(content='…')</c>: text typed with escapes resolved; a trailing newline submits.</summary>
public sealed record TypeAction(string Content) : UiTarsAction
{
    public override string Verb => "type";
}

/// <summary><c>scroll(point=…, direction='down')</c>: scroll at a point.</summary>
public sealed record ScrollAction(PixelPoint At, ScrollDirection Direction) : UiTarsAction
{
    public override string Verb => "scroll";
}

/// <summary><c>wait()</c>: the model waits for the screen to change.</summary>
public sealed record WaitAction : UiTarsAction
{
    public override string Verb => "wait";
}

/// <summary><c>finished(content='…')</c>: the task is done; the content, when given, is the answer.</summary>
public sealed record FinishedAction(string? Content) : UiTarsAction
{
    public override string Verb => "finished";
}

/// <summary><c>call_user()</c>: the model asks the user for help.</summary>
public sealed record CallUserAction : UiTarsAction
{
    public override string Verb => "call_user";
}

/// <summary><c>open_app(app_name='…')</c>: opens an application (mobile).</summary>
public sealed record OpenAppAction(string AppName) : UiTarsAction
{
    public override string Verb => "open_app";
}

/// <summary><c>press_home()</c>: the home button (mobile).</summary>
public sealed record PressHomeAction : UiTarsAction
{
    public override string Verb => "press_home";
}

/// <summary><c>press_back()</c>: the back button (mobile).</summary>
public sealed record PressBackAction : UiTarsAction
{
    public override string Verb => "press_back";
}
