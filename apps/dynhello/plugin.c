/* libplugin.so: loaded by dynhello with dlopen at run time. */
int plugin_answer(int x)
{
    return x * 6;
}
