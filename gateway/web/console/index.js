// The console's address opens the first page the caller's roles allow (or the login form).
import { boot, homeOf } from "/console/shell.js";

const { roles } = await boot("");
location.replace(homeOf(roles));
